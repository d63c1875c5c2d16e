/**
 * `redis-cluster`: Redis Cluster with 3 primaries and one replica each,
 * every node its own redis-server on loopback. The app servers use the
 * ioredis Cluster client, which sends each session key to the primary
 * owning its hash slot.
 *
 *   app-N ──slot(key)──▶ redis-1 [0-5460]     ──▶ redis-4
 *                        redis-2 [5461-10922] ──▶ redis-5
 *                        redis-3 [10923-16383]──▶ redis-6
 *
 * Built with plain cluster commands (MEET, ADDSLOTSRANGE, REPLICATE), so it
 * needs nothing but redis-server. A node is failed over after 1 s without
 * an answer (cluster-node-timeout).
 */
import { makeTopologyDir } from './topology-dir.js';
import type { Keeper } from './provision.js';
import { topologyStartMs } from './replica-set.js';
import { NODE_ARGS, newTopologyPassword, describeNodes, infoFields, killNode, pauseNode, startNode, withNode, type StartedRedisTopology, type TopologyNode, nodeAddress } from './topology.js';
import { freePort } from '../util/net.js';
import { pollUntil } from '../util/wait.js';

const PRIMARIES = 3;
const SLOT_RANGES: [number, number][] = [
  [0, 5460],
  [5461, 10922],
  [10923, 16383],
];

export async function startRedisCluster(binary: string, password = newTopologyPassword()): Promise<StartedRedisTopology> {
  const nodes: (TopologyNode & { keeper: Keeper })[] = [];
  const dir = await makeTopologyDir('slab-cluster-');
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all(nodes.map((node) => node.keeper.stop()));
      await dir.remove();
    })());
  try {
    for (let i = 0; i < PRIMARIES * 2; i++) {
      // The cluster bus has a port of its own, also free, not port + 10000.
      const busPort = await freePort();
      nodes.push(
        await startNode(
          binary,
          `redis-${i + 1}`,
          (port) => [...NODE_ARGS, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1000', '--cluster-port', String(busPort)],
          { cwd: dir.path, password },
        ),
      );
    }
    const ids = await Promise.all(nodes.map((node) => withNode(node.port, (client) => client.call('CLUSTER', 'MYID') as Promise<string>)));
    await Promise.all(SLOT_RANGES.map(([from, to], i) => withNode(nodes[i].port, (client) => client.call('CLUSTER', 'ADDSLOTSRANGE', from, to))));
    await withNode(nodes[0].port, async (client) => {
      for (const node of nodes.slice(1)) await client.call('CLUSTER', 'MEET', node.host, node.port, await busPortOf(node.port));
    });
    // Everyone knows everyone before replicas name their primary.
    await pollUntil(
      async () => {
        for (const node of nodes) {
          const known = await withNode(node.port, async (client) => ((await client.call('CLUSTER', 'NODES')) as string).trim().split('\n').length);
          if (known < nodes.length) return undefined;
        }
        return true;
      },
      { timeoutMs: topologyStartMs(), intervalMs: 50, what: 'the cluster nodes to meet' },
    );
    for (let i = PRIMARIES; i < nodes.length; i++) {
      await withNode(nodes[i].port, (client) => client.call('CLUSTER', 'REPLICATE', ids[i - PRIMARIES]));
    }
    await pollUntil(
      async () => {
        for (const node of nodes) {
          const state = await withNode(node.port, async (client) => infoFields((await client.call('CLUSTER', 'INFO')) as string).cluster_state);
          if (state !== 'ok') return undefined;
        }
        for (const node of nodes.slice(PRIMARIES)) {
          const fields = await withNode(node.port, async (client) => infoFields(await client.info('replication')));
          if (fields.master_link_status !== 'up') return undefined;
        }
        return true;
      },
      { timeoutMs: topologyStartMs(), intervalMs: 50, what: 'the cluster to cover every slot with synced replicas' },
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const label = (node: TopologyNode) => `${node.name} (${node.host}:${node.port})`;
  let known: TopologyNode[] = nodes.slice(0, PRIMARIES);
  const describe = () => {
    const live = known.filter((node) => !node.dead);
    const replicas = nodes.filter((node) => !node.dead && !live.includes(node));
    return { primary: live[0]?.name, replicas: replicas.map((node) => node.name), text: `primaries ${live.map(label).join(', ')}; replicas ${replicas.map((node) => node.name).join(', ')}` };
  };
  const primaries = async () => {
    const live = nodes.filter((node) => !node.dead);
    for (const node of live) {
      try {
        const lines = await withNode(node.port, async (client) => ((await client.call('CLUSTER', 'NODES')) as string).trim().split('\n'));
        return lines
          .filter((line) => /\bmaster\b/.test(line.split(' ')[2]) && !/fail/.test(line.split(' ')[2]))
          .map((line) => nodes.find((n) => line.split(' ')[1].startsWith(`${n.host}:${n.port}@`)))
          .filter((n): n is TopologyNode & { keeper: Keeper } => n !== undefined && !n.dead);
      } catch {
        // ask the next node
      }
    }
    return [];
  };
  return {
    kind: 'cluster',
    password,
    nodes,
    primaryUrl: nodes[0].url,
    backendConfig: ({ waitReplicas, waitTimeoutMs }) => ({ kind: 'cluster', nodes: nodes.map(nodeAddress), waitReplicas, waitTimeoutMs, password }),
    env: () => ({ REDIS_URL: nodes[0].url, REDIS_CLUSTER_NODES: nodes.map((node) => `${node.host}:${node.port}`).join(','), REDIS_PASSWORD: password }),
    async snapshot() {
      const current = await primaries();
      const snapshot = describeNodes(
        current[0],
        nodes.filter((node) => !node.dead && !current.includes(node)),
      );
      return { ...snapshot, text: `primaries ${current.map(label).join(', ')}; replicas ${snapshot.replicas.join(', ')}` };
    },
    describe,
    async killPrimary(before) {
      const [first] = await primaries();
      const victim = first ?? nodes[0];
      killNode(victim, before);
      return victim;
    },
    waitForNewPrimary: (old, timeoutMs) =>
      pollUntil(
        async () => {
          const current = await primaries();
          // Three primaries again, none of them the killed one: its replica took over.
          if (current.length !== PRIMARIES || current.includes(old as never)) return undefined;
          const promoted = current.find((node) => !known.includes(node));
          if (promoted) known = current;
          return promoted;
        },
        { timeoutMs, intervalMs: 100, what: `the cluster to fail over ${old.name}` },
      ),
    pause: pauseNode,
    stop,
  };
}

async function busPortOf(port: number): Promise<number> {
  return withNode(port, async (client) => Number(((await client.call('CONFIG', 'GET', 'cluster-port')) as string[])[1]));
}
