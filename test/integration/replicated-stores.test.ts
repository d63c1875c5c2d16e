/**
 * Replicated session stores on real redis-server processes: replica reads
 * behind a lagging replica, WAIT as the fix, a Sentinel failover that loses
 * the last writes, Redis Cluster giving the verdicts one Redis gives, and
 * nothing left running after Ctrl-C or SIGKILL of the harness.
 *
 * The lags are long against a request's round trip on a busy machine, so a
 * read after a write reliably lands inside them; assertions are invariants
 * (every reset proven replication, no reset with the fix), never timings.
 */
import { describe, expect, test } from 'vitest';
import { startCluster } from '../../harness/cluster.js';
import { runScenario } from '../../harness/runner/run.js';
import { loadScenario } from '../../harness/scenario/load.js';
import { runCli, startCli } from '../helpers/cli.js';
import { descendantsOf, waitForDescendants, waitForGone, waitForNoMarked } from '../helpers/processes.js';

interface JsonReport {
  passed: boolean;
  resets: { step: number; cause: string; evidence: string }[];
  resetsByCause: Record<string, number>;
  anomalies: { kind: string; sequence: unknown[] }[];
  events: { kind: string; time: number; topology?: string; detail?: string }[];
  errors: number;
}

describe('replica reads', () => {
  test('a lagging replica resets users right after login, each reset proven replication from the offsets', async () => {
    const result = await runCli(['run', 'login-browse', '--store', 'redis-replica-reads', '--fault', 'replica-lag=3s', '--users', '2', '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(report.resets.length).toBeGreaterThan(0);
    for (const reset of report.resets) {
      expect(reset.cause, reset.evidence).toBe('replication');
      expect(reset.evidence).toMatch(/read replica redis-2 \(127\.0\.0\.1:\d+\) .* whose replication offset \d+ was behind the write/);
      expect(reset.evidence).toContain('fault replica-lag=3s');
    }
    expect(report.anomalies.some((a) => a.kind === 'read-your-writes' && a.sequence.length === 2)).toBe(true);
    expect(report.events.find((e) => e.kind === 'store-lag')?.topology).toMatch(/^primary redis-1 \(127\.0\.0\.1:\d+\), replica redis-2/);
    expect(await waitForNoMarked(result.marker)).toEqual([]);
  });

  test('with WAIT on session writes (redis-replica-reads-wait) the same lag resets nobody', async () => {
    const result = await runCli(['run', 'login-browse', '--store', 'redis-replica-reads-wait', '--fault', 'replica-lag=1s', '--users', '2', '--json']);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(report.resets).toEqual([]);
    expect(result.code).toBe(0);
    expect(await waitForNoMarked(result.marker)).toEqual([]);
  });
});

describe('Sentinel failover', () => {
  // The replicas trail by 20 s: longer than any gap between a login and the kill on a loaded machine.
  test('kill-primary: the sessions written in the lag window are lost, naming old and new primary; the run goes on', async () => {
    await using cluster = await startCluster({ servers: 3, store: 'redis-sentinel', faults: ['kill-primary=20s'] });
    const result = await runScenario(cluster, loadScenario('login-browse'), { users: 2 });
    const killed = result.events.find((e) => e.kind === 'store-primary-killed');
    const promoted = result.events.find((e) => e.kind === 'store-failover');
    expect(killed?.detail).toMatch(/^redis-1 \(127\.0\.0\.1:\d+\) was killed/);
    expect(promoted?.topology).toMatch(/^primary redis-[23] /);
    expect(result.resets.length).toBeGreaterThan(0);
    for (const reset of result.resets) {
      expect(reset.cause, reset.evidence).toBe('replication');
      expect(reset.evidence).toMatch(/written to redis-1 .* on the old primary.*read the new primary redis-[23] .*the promoted replica never had it/);
    }
    expect(result.anomalies.some((a) => a.kind === 'lost-acknowledged-write')).toBe(true);
    // The run went on after the promotion: every request sent after it was answered.
    const after = result.records.filter((r) => r.time > promoted!.time);
    for (const r of after) expect(r.status, `${r.method} ${r.path} at step ${r.step}: ${r.error ?? ''}`).toBeGreaterThan(0);
    for (const r of after) expect(r.status).toBeLessThan(500);
  });
});

describe('Redis Cluster', () => {
  test('login-browse and concurrent-cart give the verdicts one Redis gives', async () => {
    const verdicts = async (store: 'redis' | 'redis-cluster', scenario: string) => {
      await using cluster = await startCluster({ servers: 3, store });
      const result = await runScenario(cluster, loadScenario(scenario), { users: 2 });
      return { passed: result.passed, causes: result.resetsByCause, kinds: [...new Set(result.anomalies.map((a) => a.kind))].sort() };
    };
    for (const scenario of ['login-browse', 'concurrent-cart']) {
      expect(await verdicts('redis-cluster', scenario), scenario).toEqual(await verdicts('redis', scenario));
    }
  });
});

describe('nothing left running', () => {
  const LONG_RUN = (store: string) => ['run', 'login-browse', '--store', store, '--users', '4', '--repeat', '2000'];

  test('Ctrl-C during a Sentinel run: exit 130, every redis-server, sentinel and backend gone', async () => {
    const cli = startCli(LONG_RUN('redis-sentinel'));
    // 3 backends + 6 keepers, each with its redis-server (3 data nodes, 3 sentinels).
    const tree = await waitForDescendants(cli.child.pid!, 15);
    cli.child.kill('SIGINT');
    const result = await cli.done;
    expect(result.code).toBe(130);
    expect(await waitForGone(tree)).toEqual([]);
    expect(await waitForNoMarked(cli.marker)).toEqual([]);
  });

  test('SIGKILL of the harness during a Redis Cluster run: its six nodes die with it', async () => {
    const cli = startCli(LONG_RUN('redis-cluster'));
    const tree = await waitForDescendants(cli.child.pid!, 15);
    expect(descendantsOf(cli.child.pid!).length).toBeGreaterThanOrEqual(15);
    cli.child.kill('SIGKILL');
    await cli.done;
    expect(await waitForGone(tree)).toEqual([]);
  });
});
