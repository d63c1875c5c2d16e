/** The run report's note when a replica lag reset nobody: said only where it explains a 0. */
import { expect, test } from 'vitest';
import { lagWithoutStaleReads } from '../../harness/cli/report.js';
import type { RunResult } from '../../harness/runner/run.js';
import type { ClusterEvent } from '../../harness/history/history.js';

const LAG: ClusterEvent = { time: 1, kind: 'store-lag', fault: 'replica-lag=50ms', detail: 'replication to the replicas delayed by 50 ms', topology: 'primary redis-1' };
const run = (over: Partial<RunResult>): Pick<RunResult, 'store' | 'events' | 'resetsByCause' | 'anomalies' | 'latencyMs'> => ({
  store: 'redis-replica-reads',
  events: [LAG],
  resetsByCause: { replication: 0, transmission: 0, code: 0, expiry: 0, unclassified: 0 },
  anomalies: [],
  latencyMs: { p50: 120, p95: 300, p99: 400 },
  ...over,
});

test('replica reads under a lag with no stale read: the note names the fault, the latency and what would show it', () => {
  expect(lagWithoutStaleReads(run({}))).toBe(
    'no read reached the replica before the write it followed: replica-lag=50ms resets only the reads that come within the lag of their write, and requests here took 120 ms (p50); a longer lag (e.g. replica-lag=1s) shows the effect on a machine this busy',
  );
});

test('no note with stale reads, without the fault, on the WAIT fix or on one Redis', () => {
  expect(lagWithoutStaleReads(run({ resetsByCause: { replication: 3, transmission: 0, code: 0, expiry: 0, unclassified: 0 } }))).toBeUndefined();
  expect(lagWithoutStaleReads(run({ events: [] }))).toBeUndefined();
  expect(lagWithoutStaleReads(run({ store: 'redis-replica-reads-wait' }))).toBeUndefined();
  expect(lagWithoutStaleReads(run({ store: 'redis' }))).toBeUndefined();
});
