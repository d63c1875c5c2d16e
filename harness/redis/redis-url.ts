/**
 * A Redis URL's form, checked without a Redis client: the CLI refuses a
 * malformed REDIS_URL before it loads what runs a scenario, and
 * provisionRedis (provision.ts) checks it again for the library's callers.
 */
import { HarnessError } from '../errors.js';
import type { StoreKind } from '../store/store-kinds.js';

/** The password in a URL, as *** (an error message or a log line never carries it). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** A Redis URL that cannot be parsed is bad input (exit 2), not a missing Redis (exit 3). */
export function checkRedisUrl(url: string, where: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !['redis:', 'rediss:'].includes(parsed.protocol) || !parsed.hostname) {
    const shown = redactUrl(url);
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${where}: expected a URL like redis://[:PASSWORD@]HOST:PORT, got ${JSON.stringify(shown.length > 60 ? `${shown.slice(0, 60)}…` : shown)}`);
  }
}

/** The stores on one Redis take REDIS_URL (store/provision-store.ts); the replicated ones start their own. */
export function storeTakesRedisUrl(kind: StoreKind): boolean {
  return kind === 'redis' || kind === 'redis-locking';
}

/** REDIS_URL checked when one of `stores` would use it. */
export function checkRedisUrlEnv(stores: readonly StoreKind[], env: NodeJS.ProcessEnv = process.env): void {
  const given = env.REDIS_URL;
  if (given && stores.some(storeTakesRedisUrl)) checkRedisUrl(given, 'REDIS_URL');
}
