/**
 * The replicated session stores of issue 9, each a real set of
 * redis-server processes started with the cluster and stopped with it:
 *
 *   redis-replica-reads       redis-1 primary + 1 replica; sessions written
 *                             to the primary, read from the replica
 *                             (ioredis `scaleReads: 'slave'`)
 *   redis-replica-reads-wait  the same, with the read-your-writes fix: each
 *                             session write waits (WAIT) for the replica
 *   redis-sentinel            primary + 2 replicas + 3 sentinels; ioredis
 *                             through Sentinel, failover on a dead primary
 *   redis-cluster             Redis Cluster, 3 primaries + 3 replicas
 *
 * A topology needs redis-server on PATH: REDIS_URL names one Redis, and a
 * container would hide the processes the faults act on.
 */
import { HarnessError } from '../errors.js';
import { findOnPath } from '../util/paths.js';
import type { ProvisionedStore } from './provision-store.js';
import { startRedisCluster } from '../redis/redis-cluster.js';
import { startReplicaReads } from '../redis/replica-set.js';
import { startSentinelTopology } from '../redis/sentinel.js';
import type { StartedRedisTopology } from '../redis/topology.js';
import type { ReplicatedStoreKind } from './store-kinds.js';

export { isReplicatedStoreKind, REPLICATED_STORE_KINDS, type ReplicatedStoreKind } from './store-kinds.js';

/** How long WAIT may hold a session write for its replica (the -wait store); then the write is answered anyway, and its evidence says how many replicas had it. */
export const WAIT_TIMEOUT_MS = 10_000;

export async function provisionReplicatedStore(kind: ReplicatedStoreKind, keyPrefix: string, env: NodeJS.ProcessEnv = process.env): Promise<ProvisionedStore> {
  const binary = findOnPath('redis-server', env);
  if (!binary) {
    throw new HarnessError(
      'SLAB_ERR_REDIS_UNAVAILABLE',
      `store ${kind}: needs redis-server on PATH to start its nodes (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis); REDIS_URL and containers cannot provide a topology`,
    );
  }
  let topology: StartedRedisTopology;
  try {
    topology = kind === 'redis-sentinel' ? await startSentinelTopology(binary, 2) : kind === 'redis-cluster' ? await startRedisCluster(binary) : await startReplicaReads(binary, 1);
  } catch (error) {
    throw new HarnessError('SLAB_ERR_REDIS_UNAVAILABLE', `store ${kind}: the Redis topology did not start: ${(error as Error).message}`, { cause: error });
  }
  const replicas = topology.nodes.length - 1;
  const redisTopology = topology.backendConfig(kind === 'redis-replica-reads-wait' ? { waitReplicas: replicas, waitTimeoutMs: WAIT_TIMEOUT_MS } : { waitReplicas: 0, waitTimeoutMs: 0 });
  return {
    kind,
    topology,
    // Sessions saved whole (last writer wins), as with --store redis.
    backendConfig: { store: 'redis', writes: 'whole', redisUrl: topology.primaryUrl, keyPrefix, redisTopology },
    env: topology.env(),
    redis: undefined,
    stop: () => topology.stop(),
  };
}
