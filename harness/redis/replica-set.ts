/**
 * One primary and R replicas, each replica replicating through a link the
 * harness controls (replication-link.ts), so a fault can slow or cut the
 * replication stream:
 *
 *   app-N ──writes──▶ redis-1 (primary) ──link──▶ redis-2 (replica) ◀──reads── app-N
 *                                       └─link──▶ redis-3 (replica)
 *
 * Used as is by the `redis-replica-reads` stores, and under Sentinel by
 * sentinel.ts.
 */
import { startReplicationLink, type ReplicationLink } from './replication-link.js';
import {
  NODE_ARGS,
  newTopologyPassword,
  describeNodes,
  infoFields,
  killNode,
  pauseNode,
  roleOf,
  startNode,
  withNode,
  type StartedRedisTopology,
  type TopologyNode,
  type TopologySnapshot,
  nodeAddress,
} from './topology.js';
import type { Keeper } from './provision.js';
import { timeoutBudgetMs, budgetHint } from '../util/budget.js';
import { pollUntil } from '../util/wait.js';

export interface ReplicaSet {
  readonly nodes: TopologyNode[];
  readonly links: ReplicationLink[];
  setLag(ms: number): void;
  partition(cut: boolean): void;
  /** The live node that says it is master, if one does. */
  currentPrimary(): Promise<TopologyNode | undefined>;
  /** The primary as last known; updated by promote(). */
  known: TopologyNode;
  describe(): TopologySnapshot;
  snapshot(): Promise<TopologySnapshot>;
  stop(): Promise<void>;
}

/** How long a topology may take to come up on a busy machine: the project's one time budget. */
export const topologyStartMs = (): number => timeoutBudgetMs();

export async function startReplicaSet(binary: string, replicas: number, password: string): Promise<ReplicaSet> {
  const keepers: Keeper[] = [];
  const links: ReplicationLink[] = [];
  const nodes: TopologyNode[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all(links.map((link) => link.close()));
      await Promise.all(keepers.map((keeper) => keeper.stop()));
    })());
  try {
    const primary = await startNode(binary, 'redis-1', () => NODE_ARGS, { password });
    keepers.push(primary.keeper);
    nodes.push(primary);
    for (let i = 0; i < replicas; i++) {
      const link = await startReplicationLink(primary.port);
      links.push(link);
      const replica = await startNode(binary, `redis-${i + 2}`, () => [...NODE_ARGS, '--replicaof', '127.0.0.1', String(link.port), '--replica-read-only', 'yes'], { password });
      keepers.push(replica.keeper);
      nodes.push(replica);
    }
    // Every replica synced before the first request.
    await pollUntil(
      async () => {
        for (const node of nodes.slice(1)) {
          const fields = await withNode(node.port, async (client) => infoFields(await client.info('replication')));
          if (fields.master_link_status !== 'up') return undefined;
        }
        return true;
      },
      { timeoutMs: topologyStartMs(), intervalMs: 50, what: `${replicas} replica(s) to sync with redis-1 ${budgetHint()}` },
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const currentPrimary = async () => {
    for (const node of nodes) if (!node.dead && (await roleOf(node.port)) === 'master') return node;
    return undefined;
  };
  const set: ReplicaSet = {
    known: nodes[0],
    describe: () =>
      describeNodes(
        set.known.dead ? undefined : set.known,
        nodes.filter((node) => node !== set.known && !node.dead),
      ),
    nodes,
    links,
    setLag: (ms) => links.forEach((link) => link.setDelay(ms)),
    partition: (cut) => links.forEach((link) => (cut ? link.hold() : link.release())),
    currentPrimary,
    async snapshot() {
      const primary = await currentPrimary();
      return describeNodes(
        primary,
        nodes.filter((node) => node !== primary && !node.dead),
      );
    },
    stop,
  };
  return set;
}

/** `redis-replica-reads`: the app writes to redis-1 and reads sessions from the replicas. */
export async function startReplicaReads(binary: string, replicas = 1, password = newTopologyPassword()): Promise<StartedRedisTopology> {
  const set = await startReplicaSet(binary, replicas, password);
  const [primary, ...readers] = set.nodes;
  return {
    kind: 'replica-reads',
    password,
    nodes: set.nodes,
    primaryUrl: primary.url,
    backendConfig: ({ waitReplicas, waitTimeoutMs }) => ({
      kind: 'replica-reads',
      nodes: set.nodes.map(nodeAddress),
      primary: nodeAddress(primary),
      replicas: readers.map(nodeAddress),
      waitReplicas,
      waitTimeoutMs,
      password,
    }),
    env: () => ({ REDIS_URL: primary.url, REDIS_REPLICA_URLS: readers.map((node) => node.url).join(','), REDIS_PASSWORD: password }),
    snapshot: set.snapshot,
    describe: set.describe,
    setLag: set.setLag,
    partition: set.partition,
    async killPrimary(before) {
      const current = (await set.currentPrimary()) ?? primary;
      killNode(current, before);
      return current;
    },
    // No Sentinel here: nobody promotes a replica.
    waitForNewPrimary: (old, timeoutMs) =>
      pollUntil(async () => (await set.currentPrimary()) ?? undefined, { timeoutMs, intervalMs: 100, what: `a primary other than ${old.name} (redis-replica-reads has no Sentinel to promote one)` }),
    pause: pauseNode,
    stop: set.stop,
  };
}
