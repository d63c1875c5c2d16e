/**
 * --seed replays a run: with the same seed every request goes to the same
 * backend (and a fault @p acts on the same requests), so the verdicts are
 * the same; a different seed routes differently; every run prints the seed
 * it drew, and that seed replays it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { diagnoseHistoryFile } from '../../harness/runner/diagnose-file.js';
import type { RunResult } from '../../harness/runner/run.js';
import { runCli } from '../helpers/cli.js';
import { runBuiltIn } from '../helpers/scenario-run.js';

const dir = mkdtempSync(join(tmpdir(), 'slab-seed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** (user, pass, step) → backend, for every request of the run. */
const routing = (records: { user: number; run: number; step: number; backend?: string }[]) => records.map((r) => `${r.user}.${r.run}.${r.step} → ${r.backend}`).sort();
const verdicts = (result: RunResult) => result.resets.map((v) => `${v.user}.${v.run}.${v.step} ${v.cause} on ${v.backend}`).sort();
const faulted = (result: RunResult) => result.records.filter((r) => r.proxy?.faults?.length).map((r) => `${r.user}.${r.run}.${r.step}`);

describe.concurrent('the same seed, the same routing', () => {
  test('round-robin, memory: two runs with --seed 7 route alike and reset alike; --seed 8 routes differently', async () => {
    // Users run concurrently: arrival order differs from run to run, routing must not.
    // The runs one after another: each next cluster takes the backends the last one left idle (warm-pool.ts).
    const options = { users: 4, repeat: 2 };
    const a = await runBuiltIn('login-browse', { ...options, cluster: { seed: 7 } });
    const b = await runBuiltIn('login-browse', { ...options, cluster: { seed: 7 } });
    const c = await runBuiltIn('login-browse', { ...options, cluster: { seed: 8 } });
    expect(a.requests).toBe(4 * 2 * 6);
    expect(a.seed).toBe(7);
    expect(routing(b.records)).toEqual(routing(a.records));
    expect(verdicts(a).length).toBeGreaterThan(0);
    expect(verdicts(b)).toEqual(verdicts(a));
    expect(c.seed).toBe(8);
    expect(routing(c.records)).not.toEqual(routing(a.records));
  });

  test('random with a fault @0.5: the same seed picks the same backends and the fault acts on the same requests', async () => {
    const options = { users: 4, repeat: 2, cluster: { balancer: 'random' as const, seed: 1234 }, faults: ['strip-cookie@0.5'] };
    const a = await runBuiltIn('login-browse', options);
    const b = await runBuiltIn('login-browse', options);
    expect(routing(b.records)).toEqual(routing(a.records));
    // The fault acted on some requests and spared others, on the same ones both times.
    expect(faulted(a).length).toBeGreaterThan(0);
    expect(faulted(a).length).toBeLessThan(a.requests);
    expect(faulted(b).sort()).toEqual(faulted(a).sort());
    expect(verdicts(b)).toEqual(verdicts(a));
  });
});

test.concurrent('session-lab run prints the seed it drew, and --seed with it replays the run', async () => {
  const first = join(dir, 'first.jsonl');
  const again = join(dir, 'again.jsonl');
  const run = await runCli(['run', 'login-browse', '--users', '4', '--history', first]);
  expect(run.code).toBe(1);
  const seed = /^ {2}seed {7}(\d+) \(replay: --seed \1\)$/m.exec(run.stdout)?.[1];
  expect(seed, run.stdout).toBeDefined();

  const replay = await runCli(['run', 'login-browse', '--users', '4', '--history', again, '--seed', seed!, '--json']);
  expect(replay.code).toBe(1);
  expect(JSON.parse(replay.stdout).seed).toBe(Number(seed));
  const requests = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((line) => line.type === 'request');
  expect(routing(requests(again))).toEqual(routing(requests(first)));
  expect(routing(requests(first))).toHaveLength(4 * 6);
  // The history keeps the seed, so a re-diagnosis names it too (read here as `session-lab diagnose`
  // reads it; diagnose.test.ts runs that command on a history and compares its seed with the run's).
  expect((await diagnoseHistoryFile(first)).seed).toBe(Number(seed));
});
