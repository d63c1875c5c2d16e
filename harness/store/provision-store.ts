/**
 * Where a cluster's sessions live, and what the app servers need to reach
 * it: nothing for per-process memory; a Redis (and its address) for the
 * shared stores. Store topologies with several Redis nodes plug in here.
 *
 *   startCluster ──▶ provisionStore(kind) ──▶ { backendConfig, env, redis }
 */
import type { BackendConfig } from '../../servers/config.js';
import type { ProvisionedRedis } from '../redis/provision.js';
import type { StartedRedisTopology } from '../redis/topology.js';
import { isReplicatedStoreKind, type StoreKind } from './store-kinds.js';

export { STORE_KINDS, type StoreKind } from './store-kinds.js';

export interface ProvisionedStore {
  readonly kind: StoreKind;
  /** What the reference server is told about its store. */
  readonly backendConfig: Pick<BackendConfig, 'store' | 'writes' | 'redisUrl' | 'keyPrefix' | 'redisTopology'>;
  /** What a foreign app is told, as environment (REDIS_URL …). */
  readonly env: Record<string, string>;
  /** The Redis, when the store has one: its controls serve the store faults. */
  readonly redis: ProvisionedRedis | undefined;
  /** The Redis topology of a replicated store (replica-set.ts, sentinel.ts, redis-cluster.ts). */
  readonly topology?: StartedRedisTopology;
  /** Stops what was started; removes this cluster's keys from a Redis that is not ours. Idempotent. */
  stop(): Promise<void>;
}

export interface ProvisionStoreOptions {
  /** A Redis to use instead of REDIS_URL or a spawned one. */
  redisUrl?: string;
  /** Redis key prefix, one per cluster. */
  keyPrefix: string;
  /** Start Redis as a container (`--runtime docker`) when no redisUrl / REDIS_URL is given. */
  container?: boolean;
}

export async function provisionStore(kind: StoreKind, { redisUrl, keyPrefix, container }: ProvisionStoreOptions): Promise<ProvisionedStore> {
  if (kind === 'memory') {
    return { kind, backendConfig: { store: 'memory', writes: 'whole', keyPrefix }, env: {}, redis: undefined, stop: async () => {} };
  }
  // The Redis side (ioredis, the topologies) is loaded by the runs that have a Redis: evaluating
  // ioredis costs a process ~60 ms of CPU, which a CLI run on memory sessions need not pay.
  if (isReplicatedStoreKind(kind)) {
    const { provisionReplicatedStore } = await import('./replicated-store.js');
    return provisionReplicatedStore(kind, keyPrefix);
  }
  const { deleteKeys, provisionRedis } = await import('../redis/provision.js');
  const redis = await provisionRedis({ url: redisUrl, container });
  let stopping: Promise<void> | undefined;
  return {
    kind,
    backendConfig: { store: 'redis', writes: kind === 'redis-locking' ? 'locking' : 'whole', redisUrl: redis.url, keyPrefix },
    env: { REDIS_URL: redis.url },
    redis,
    stop: () =>
      (stopping ??= (async () => {
        if (redis.source === 'REDIS_URL') await deleteKeys(redis.url, keyPrefix).catch(() => {});
        await redis.stop();
      })()),
  };
}
