/** Long runs: bounded by time or count, history streamed to disk, progress reported. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCluster, type StartedCluster } from '../../harness/cluster.js';
import { runScenario, type RunProgress } from '../../harness/runner/run.js';
import { loadScenario } from '../../harness/scenario/load.js';

// Side by side: each run joins its own records by its own request ids (runner/run.ts), and the
// streaming run has a cluster of its own.
describe.concurrent('long runs', () => {
  // The bounded runs only read the cluster: one Redis-backed cluster serves both.
  let shared: StartedCluster;
  beforeAll(async () => {
    shared = await startCluster({ servers: 2, store: 'redis' });
  });
  afterAll(async () => {
    await shared?.stop();
  });

  test('a run bounded by time keeps users going, then stops by itself', async () => {
    const cluster = shared;
    const result = await runScenario(cluster, loadScenario('login-browse'), { users: 5, durationMs: 600 });
    // How many passes fit in 600 ms depends on the machine (at load 45 a user
    // may not even start before the deadline); what does not: only whole
    // passes are made, numbered in order, and the users keep going until the
    // time is up (a run that stopped after the first passes would end early on
    // a fast machine), then the run ends by itself.
    expect(result.requests % 6).toBe(0); // whole passes only
    expect(result.durationMs).toBeGreaterThanOrEqual(600);
    for (let user = 1; user <= 5; user++) {
      const passes = new Set(result.records.filter((r) => r.user === user).map((r) => r.run));
      expect([...passes].sort((a, b) => a - b)).toEqual(Array.from({ length: passes.size }, (_, i) => i + 1));
    }
    expect(result.resets).toEqual([]);
    expect(result.passed).toBe(true);
  });

  test('a run bounded by count stops after about that many requests (the passes in flight finish)', async () => {
    const cluster = shared;
    const result = await runScenario(cluster, loadScenario('login-browse'), { users: 4, maxRequests: 50, concurrency: 4 });
    expect(result.requests).toBeGreaterThanOrEqual(50);
    expect(result.requests).toBeLessThanOrEqual(50 + 4 * 6);
  });

  test('the history streams to a JSON-lines file; the result keeps only examples', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'slab-history-')), 'history.jsonl');
    await using cluster = await startCluster({ servers: 3, store: 'memory', recordProxyHistory: false });
    const progress: RunProgress[] = [];
    const result = await runScenario(cluster, loadScenario('login-browse'), { users: 80, historyFile: file, onProgress: (p) => progress.push(p) });
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ type: 'topology', store: 'memory' });
    const requests = lines.filter((line) => line.type === 'request');
    expect(requests).toHaveLength(480);
    expect(requests[0]).toHaveProperty('proxy.backend');
    // Examples for the report, not every record; the counts are whole.
    expect(result.records.length).toBeLessThan(480);
    expect(result.requests).toBe(480);
    expect(result.resetsTotal).toBeGreaterThan(0);
    expect(cluster.history.requests).toHaveLength(0);
    expect(cluster.history.proxy).toHaveLength(0);
    // Progress: every request counted, in order, out of the planned total.
    expect(progress.map((p) => p.done)).toEqual(Array.from({ length: 480 }, (_, i) => i + 1));
    expect(progress.every((p) => p.total === 480)).toBe(true);
  });
});
