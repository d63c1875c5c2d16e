/**
 * A started cluster: N reference app servers as child processes, a balancer
 * in front, and the session store they share or do not share.
 *
 *   virtual users ──▶ balancer ──▶ app-1 ┐
 *                                 ──▶ app-2 ├──▶ own memory | one Redis
 *                                 ──▶ app-N ┘
 */
import { randomBytes } from 'node:crypto';
import type { BackendConfig } from '../servers/config.js';
import { startBackend, type BackendLogLine, type StartedBackend } from './backend/backend-process.js';
import { startBalancer, type ProxyRecord, type StartedBalancer } from './balancer/proxy.js';
import { BALANCER_NAMES, createStrategy, type BalancerName } from './balancer/strategies.js';
import { HarnessError } from './errors.js';
import type { History } from './history/history.js';
import { provisionRedis, type ProvisionedRedis } from './redis/provision.js';
import { Redis } from 'ioredis';

export type StoreKind = 'memory' | 'redis';
export const STORE_KINDS: readonly StoreKind[] = ['memory', 'redis'];

export interface ClusterOptions {
  /** Number of app servers. */
  servers?: number;
  store?: StoreKind;
  balancer?: BalancerName;
  /** A Redis to use instead of REDIS_URL or a spawned one. */
  redisUrl?: string;
  /** Session cookie name. */
  cookieName?: string;
  /** Store TTL in ms. */
  sessionTtlMs?: number;
  /** Receives the backends' log lines, besides the history. */
  logger?: { info(obj: object, msg?: string): void };
  /** Keep backend log lines in the history (default true). */
  recordBackendLog?: boolean;
}

export const CLUSTER_DEFAULTS = {
  servers: 3,
  store: 'memory',
  balancer: 'round-robin',
  cookieName: 'sid',
  sessionTtlMs: 30 * 60_000,
  recordBackendLog: true,
} as const satisfies Partial<ClusterOptions>;

export interface StartedCluster {
  /** The balancer's URL: where clients go. */
  readonly url: string;
  readonly backends: readonly StartedBackend[];
  readonly redis: ProvisionedRedis | undefined;
  /** Redis key prefix of this cluster's sessions. */
  readonly keyPrefix: string;
  readonly history: History;
  readonly options: Required<Omit<ClusterOptions, 'redisUrl' | 'logger'>>;
  /** Idempotent; a second call awaits the first. Never throws for dead children. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function validate(options: ClusterOptions): Required<Omit<ClusterOptions, 'redisUrl' | 'logger'>> {
  const merged = { ...CLUSTER_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  const fail = (field: string, value: unknown, expected: string) => {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${field}: expected ${expected}, got ${JSON.stringify(value)}`);
  };
  if (!Number.isInteger(merged.servers) || merged.servers < 1 || merged.servers > 64) fail('servers', merged.servers, 'an integer from 1 to 64');
  if (!STORE_KINDS.includes(merged.store)) fail('store', merged.store, STORE_KINDS.join(' | '));
  if (!BALANCER_NAMES.includes(merged.balancer)) fail('balancer', merged.balancer, BALANCER_NAMES.join(' | '));
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(merged.cookieName)) fail('cookieName', merged.cookieName, 'an RFC 6265 cookie name (a token)');
  if (!(merged.sessionTtlMs > 0)) fail('sessionTtlMs', merged.sessionTtlMs, 'a positive number of ms');
  return merged as Required<Omit<ClusterOptions, 'redisUrl' | 'logger'>>;
}

/** Removes this cluster's keys from a Redis it did not start (REDIS_URL). */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true, disconnectTimeout: 50 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export async function startCluster(input: ClusterOptions = {}): Promise<StartedCluster> {
  const options = validate(input);
  const keyPrefix = `slab:${randomBytes(4).toString('hex')}:`;
  const history: History = {
    topology: { store: options.store, balancer: options.balancer, backends: [], cookieName: options.cookieName },
    requests: [],
    proxy: [],
    backendLog: [],
    events: [],
  };

  const backends: StartedBackend[] = [];
  let redis: ProvisionedRedis | undefined;
  let balancer: StartedBalancer | undefined;
  let stopping: Promise<void> | undefined;
  let stopped = false;

  const stop = () =>
    (stopping ??= (async () => {
      stopped = true;
      await balancer?.stop();
      await Promise.all(backends.map((backend) => backend.stop()));
      if (redis?.source === 'REDIS_URL') await deleteKeys(redis.url, keyPrefix).catch(() => {});
      await redis?.stop();
      history.events.push({ time: Date.now(), kind: 'cluster-stopped' });
    })());

  try {
    if (options.store === 'redis') redis = await provisionRedis({ url: input.redisUrl });

    const onLog = (line: BackendLogLine) => {
      if (options.recordBackendLog) history.backendLog.push(line);
      input.logger?.info(line, 'backend');
    };
    const configs: BackendConfig[] = Array.from({ length: options.servers }, (_, i) => ({
      name: `app-${i + 1}`,
      store: options.store,
      redisUrl: redis?.url,
      keyPrefix,
      cookieName: options.cookieName,
      ttlMs: options.sessionTtlMs,
      idleTimeoutMs: 0,
      absoluteTimeoutMs: 0,
      secureCookie: false,
    }));
    const started = await Promise.allSettled(configs.map((config) => startBackend({ config, onLog })));
    for (const result of started) if (result.status === 'fulfilled') backends.push(result.value);
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    for (const backend of backends) {
      void backend.exited.then(() => {
        if (!stopped) history.events.push({ time: Date.now(), kind: 'backend-exited', backend: backend.name });
      });
    }
    history.topology.backends = backends.map((backend) => backend.name);

    balancer = await startBalancer({
      targets: backends.map((backend, index) => ({ name: backend.name, url: backend.url, index })),
      strategy: createStrategy(options.balancer),
      onRecord: (record: ProxyRecord) => history.proxy.push(record),
    });
    history.events.push({ time: Date.now(), kind: 'cluster-started' });
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url: balancer.url,
    backends,
    redis,
    keyPrefix,
    history,
    options,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
