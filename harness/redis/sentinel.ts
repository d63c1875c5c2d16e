/**
 * `redis-sentinel`: a replica set (replica-set.ts) watched by three
 * sentinels that promote a replica when the primary stops answering. The
 * app servers connect through Sentinel (ioredis `sentinels`), which names
 * the primary of the moment.
 *
 *   app-N ──"who is primary?"──▶ sentinel ×3
 *        └──────reads/writes───▶ redis-1 (primary) ──link──▶ redis-2, redis-3
 *
 * Timings are short so a failover fits in a test: a primary is down after
 * 500 ms without an answer, and a failover is retried after 3 s.
 *
 * The replicas replicate through links (replication-link.ts), so their
 * master address is the link's, not the primary's. Sentinel "fixes" such a
 * replica (`+fix-slave-config`: REPLICAOF the primary's own address)
 * failover-timeout after it first saw it — 8 s after start-up with 3 s —
 * and from then on writes reach that replica at once: a lag or partition
 * fault does nothing, and a kill-primary loses no write although the
 * history says the replicas trailed it. So failover-timeout stays long
 * while the primary is up, and becomes short when the harness kills it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTopologyDir, type TopologyDir } from './topology-dir.js';
import type { Keeper } from './provision.js';
import { startReplicaSet, topologyStartMs } from './replica-set.js';
import { killNode, newTopologyPassword, pauseNode, startNode, withNode, type StartedRedisTopology, type TopologyNode, nodeAddress } from './topology.js';
import { pollUntil } from '../util/wait.js';

export const MASTER_NAME = 'slab';
export const SENTINEL_DOWN_AFTER_MS = 500;
const FAILOVER_TIMEOUT_MS = 3000;
/** failover-timeout until the primary is killed: longer than any run, so Sentinel never re-points a replica past its link. */
const LINKED_FAILOVER_TIMEOUT_MS = 24 * 3_600_000;

export async function startSentinelTopology(binary: string, replicas = 2, password = newTopologyPassword()): Promise<StartedRedisTopology> {
  const set = await startReplicaSet(binary, replicas, password);
  const [primary] = set.nodes;
  const sentinels: (TopologyNode & { keeper: Keeper })[] = [];
  let dir: TopologyDir | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all(sentinels.map((sentinel) => sentinel.keeper.stop()));
      await set.stop();
      await dir?.remove();
    })());
  try {
    dir = await makeTopologyDir('slab-sentinel-');
    for (let i = 0; i < 3; i++) {
      // Sentinel rewrites its configuration file: each gets its own, in a directory removed at stop.
      const file = join(dir.path, `sentinel-${i + 1}.conf`);
      await writeFile(
        file,
        [
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${MASTER_NAME} ${SENTINEL_DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${MASTER_NAME} ${LINKED_FAILOVER_TIMEOUT_MS}`,
          `sentinel parallel-syncs ${MASTER_NAME} 1`,
          // The data nodes' password, in a file of a folder only its owner can read (mkdtemp: 0700).
          `sentinel auth-pass ${MASTER_NAME} ${password}`,
          '',
        ].join('\n'),
      );
      const sentinel = await startNode(binary, `sentinel-${i + 1}`, () => ['--sentinel'], { configFile: () => file, cwd: dir.path });
      sentinels.push(sentinel);
    }
    // A failover needs a quorum of sentinels that know each other and the replicas (hello messages, every 2 s).
    await pollUntil(
      async () => {
        for (const sentinel of sentinels) {
          const known = await withNode(sentinel.port, async (client) => ({
            sentinels: ((await client.call('SENTINEL', 'SENTINELS', MASTER_NAME)) as unknown[]).length,
            replicas: ((await client.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as unknown[]).length,
          }));
          if (known.sentinels < sentinels.length - 1 || known.replicas < replicas) return undefined;
        }
        return true;
      },
      { timeoutMs: topologyStartMs(), intervalMs: 100, what: 'three sentinels that know each other and every replica' },
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const byPort = (port: number) => set.nodes.find((node) => node.port === port);
  /** What a live sentinel says the primary is. */
  const sentinelPrimary = async (): Promise<TopologyNode | undefined> => {
    for (const sentinel of sentinels) {
      try {
        const [, port] = (await withNode(sentinel.port, (client) => client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME))) as [string, string];
        return byPort(Number(port));
      } catch {
        // ask the next one
      }
    }
    return undefined;
  };
  return {
    kind: 'sentinel',
    password,
    nodes: set.nodes,
    primaryUrl: primary.url,
    backendConfig: ({ waitReplicas, waitTimeoutMs }) => ({
      kind: 'sentinel',
      nodes: set.nodes.map(nodeAddress),
      sentinels: sentinels.map((sentinel) => ({ host: sentinel.host, port: sentinel.port })),
      masterName: MASTER_NAME,
      waitReplicas,
      waitTimeoutMs,
      password,
    }),
    env: () => ({
      REDIS_URL: primary.url,
      REDIS_SENTINELS: sentinels.map((sentinel) => `${sentinel.host}:${sentinel.port}`).join(','),
      REDIS_SENTINEL_NAME: MASTER_NAME,
      REDIS_PASSWORD: password,
    }),
    snapshot: set.snapshot,
    describe: set.describe,
    setLag: set.setLag,
    partition: set.partition,
    async killPrimary(before) {
      // The primary the harness last saw promoted: killed at once, without a round trip that a loaded machine makes long.
      const current = set.known.dead ? ((await sentinelPrimary()) ?? primary) : set.known;
      killNode(current, before);
      // Only now: a replica re-pointed at a live primary would get the writes its link holds back.
      // Dead, it has nothing more to give; the failover (and its retries) run on the short timeout.
      await Promise.all(
        sentinels.map((sentinel) => withNode(sentinel.port, (client) => client.call('SENTINEL', 'SET', MASTER_NAME, 'failover-timeout', String(FAILOVER_TIMEOUT_MS))).catch(() => undefined)),
      );
      return current;
    },
    waitForNewPrimary: (old, timeoutMs) =>
      pollUntil(
        async () => {
          const named = await sentinelPrimary();
          if (!named || named === old || named.dead) return undefined;
          // Promoted, and it says so itself.
          if ((await set.currentPrimary()) !== named) return undefined;
          set.known = named;
          return named;
        },
        { timeoutMs, intervalMs: 50, what: `Sentinel to promote a replica of ${old.name}` },
      ),
    pause: pauseNode,
    stop,
  };
}
