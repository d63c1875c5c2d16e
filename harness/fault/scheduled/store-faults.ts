/**
 * Faults of a replicated session store (issue 9), acting on the Redis
 * topology rather than on one Redis. Each is recorded in the history with
 * the topology at that moment (who was primary when), which the diagnosis
 * quotes.
 *
 *   replica-lag=MS          the replication stream reaches the replicas MS
 *                           late, from the first request (or at=/after=,
 *                           for=): reads from a replica miss fresh sessions
 *   partition-primary       the primary cut off from its replicas for a
 *                           while (for=, default 1 s): replicas fall behind
 *   kill-primary[=LAG]      SIGKILL the primary; Sentinel or the cluster
 *                           promotes a replica. Its replicas trail it by LAG
 *                           (default 300 ms) from the first request, as under
 *                           load, so the writes of its last LAG ms are lost;
 *                           requests in flight wait for the promotion.
 */
import type { ClusterControl } from '../../cluster-control.js';
import type { StartedRedisTopology } from '../../redis/topology.js';
import type { ScheduledFaultDefinition } from './scheduled-fault.js';
import { timeoutBudgetMs } from '../../util/budget.js';

/** How long a promotion may take on a busy machine (Sentinel: down after 500 ms, then an election): the one time budget. */
const failoverBudgetMs = (): number => timeoutBudgetMs();

/** The topology a fault acts on; assertFaultFits (faults.ts) has refused clusters without one by `requires`. */
const topologyOf = (cluster: ClusterControl): StartedRedisTopology => cluster.topology!;

const durationValue = (text: string): number | undefined => {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (!match) return undefined;
  const ms = match[2] === 's' ? Number(match[1]) * 1000 : Number(match[1]);
  return ms <= 60_000 ? ms : undefined;
};

export const replicaLag: ScheduledFaultDefinition = {
  name: 'replica-lag',
  usage: 'replica-lag=DELAY',
  description: 'the replicas get every write DELAY late (e.g. 50ms), from the first request unless at=/after= say otherwise; for= ends it',
  takesBackend: false,
  value: { expected: 'a delay like 50ms or 0.2s (at most 60 s)', parse: durationValue, default: 50 },
  defaultSchedule: { atMs: 0 },
  defaultDurationMs: 0,
  async act(cluster, { spec, value = 50, durationMs }) {
    const topology = cluster.topology;
    if (!topology?.setLag) {
      // One Redis (or none) has no replica to lag: nothing to do, and the history says so.
      cluster.recordEvent({ kind: 'store-lag', fault: spec, detail: `the store has no replicas behind a link: nothing to delay` });
      return;
    }
    topology.setLag(value);
    cluster.recordEvent({ kind: 'store-lag', fault: spec, detail: `replication to the replicas delayed by ${value} ms`, topology: topology.describe().text });
    if (durationMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, durationMs));
      topology.setLag(0);
      cluster.recordEvent({ kind: 'store-healed', fault: spec, detail: 'replication delay removed', topology: topology.describe().text });
    }
  },
};

export const partitionPrimary: ScheduledFaultDefinition = {
  name: 'partition-primary',
  usage: 'partition-primary[,for=DURATION]',
  description: 'cut the primary off from its replicas for a while (default 1 s): they stop receiving writes',
  takesBackend: false,
  requires: ['replicas'],
  defaultDurationMs: 1000,
  async act(cluster, { spec, durationMs }) {
    const topology = topologyOf(cluster);
    topology.partition!(true);
    cluster.recordEvent({ kind: 'store-partitioned', fault: spec, detail: `the primary cut off from its replicas for ${durationMs} ms`, topology: topology.describe().text });
    await new Promise((resolve) => setTimeout(resolve, durationMs));
    topology.partition!(false);
    cluster.recordEvent({ kind: 'store-healed', fault: spec, detail: 'the partition healed', topology: topology.describe().text });
  },
};

export const killPrimary: ScheduledFaultDefinition = {
  name: 'kill-primary',
  usage: 'kill-primary[=LAG]',
  description: 'SIGKILL the Redis primary (Sentinel or Cluster promotes a replica); its replicas trail it by LAG (default 300ms), so its last writes are lost',
  takesBackend: false,
  requires: ['failover'],
  value: { expected: 'how far the replicas trail the primary, like 300ms or 0', parse: durationValue, default: 300 },
  async arm(cluster, { spec, value = 300 }) {
    const topology = topologyOf(cluster);
    if (value > 0 && topology.setLag) {
      topology.setLag(value);
      cluster.recordEvent({
        kind: 'store-lag',
        fault: spec,
        detail: `replication to the replicas delayed by ${value} ms, as a loaded primary's replicas trail it`,
        topology: topology.describe().text,
      });
    }
  },
  async act(cluster, { spec }) {
    const topology = topologyOf(cluster);
    const started = Date.now();
    // Recorded as it goes down, with who was primary: requests from then on see it gone.
    const old = await topology.killPrimary((victim) =>
      cluster.recordEvent({ kind: 'store-primary-killed', fault: spec, detail: `${victim.name} (${victim.host}:${victim.port}) was killed`, topology: topology.describe().text }),
    );
    const promoted = await topology.waitForNewPrimary(old, failoverBudgetMs());
    // The new primary replicates to the others directly: no lag from here on.
    topology.setLag?.(0);
    cluster.recordEvent({
      kind: 'store-failover',
      fault: spec,
      detail: `${promoted.name} (${promoted.host}:${promoted.port}) promoted ${Date.now() - started} ms after the kill`,
      topology: topology.describe().text,
    });
  },
};
