/**
 * Defects a second independent matrix found in the diagnosis (issue 12),
 * each reproduced on a real cluster; the unit tests on histories are in
 * test/unit/diagnose-matrix-defects.test.ts. Assertions are invariants of
 * the recorded history, never timings: the order the test is about is
 * checked on the recorded times before the verdicts are.
 */
import { describe, expect, test } from 'vitest';
import { startCluster, type ClusterOptions } from '../../harness/cluster.js';
import { runScenario, type RunResult } from '../../harness/runner/run.js';
import { parseScenario } from '../../harness/scenario/load.js';
import type { ScenarioStep } from '../../harness/scenario/schema.js';
import type { RequestRecord } from '../../harness/history/history.js';

const land: ScenarioStep = { name: 'land', method: 'GET', path: '/' };
const login: ScenarioStep = { name: 'log in', method: 'POST', path: '/login', json: { user: 'carol', password: 'carol-pw' } };
const drafts: ScenarioStep = { name: 'view drafts', method: 'GET', path: '/drafts' };
const health: ScenarioStep = { name: 'health check', method: 'GET', path: '/health' };

async function run(name: string, cluster: ClusterOptions, steps: ScenarioStep[], users = 1, until?: (record: RequestRecord) => boolean): Promise<RunResult> {
  const scenario = parseScenario({ name, description: `issue 12, matrix: ${name}`, steps }, `${name}.yaml`);
  await using started = await startCluster({ ...cluster, recordBackendLog: false });
  // `until`: the run stops once a request it waits for is answered (the rest of its steps are only retries).
  const done = new AbortController();
  return await runScenario(started, scenario, { users, signal: done.signal, onRecord: until && ((record) => until(record) && done.abort()) });
}

const causes = (result: RunResult) => result.resets.map((v) => v.cause);
const recordAt = (result: RunResult, step: number) => result.records.find((r) => r.user === 1 && r.step === step);

describe.concurrent('order of deaths with the server’s idle and absolute limits: over before the restart → expiry', () => {
  // The restart fires after the 4th request, a health check (no session) sent after a pause longer
  // than the limit: whatever the machine's speed, the limit ran out before the restart. Between
  // the login and the restart only health checks, which the server answers without the session:
  // the session the restart finds is the login's, whatever the machine's speed (a drafts request
  // there, later than the limit on a loaded machine, expired it and the restart took the new one).
  const limitMs = 600;
  // After the restart, requests until one is answered (the run stops there): a restarting backend
  // (or Redis) refuses them for as long as it takes to come back, seconds on a busy machine.
  const retry: ScenarioStep[] = Array.from({ length: 40 }, () => [{ name: 'pause', wait: 250 }, drafts]).flat();
  const answered = (r: RequestRecord) => r.step > 5 && r.backend !== undefined && r.status < 500;
  const check = (result: RunResult, restart: string, since: number, evidence: string) => {
    const from = recordAt(result, since)!;
    const event = result.events.find((e) => e.kind === restart)!;
    expect(event).toBeDefined();
    expect(event.time).toBeGreaterThanOrEqual(from.time + from.durationMs + limitMs);
    const firstAnswered = result.records.filter(answered).sort((a, b) => a.step - b.step)[0];
    expect(firstAnswered).toBeDefined();
    // The first answer after the restart is a reset, for the limit that ran out before it.
    const afterRestart = result.resets.find((v) => v.user === 1 && v.step === firstAnswered.step);
    expect(afterRestart, `a reset at step ${firstAnswered.step}, the first answer after the restart`).toBeDefined();
    expect(afterRestart!.evidence).toContain(evidence);
    // Others, if any, are sessions outliving the limit on a slow machine (the landing's before the
    // login, the retries' anonymous ones): expiry too.
    expect(causes(result)).toEqual(result.resets.map(() => 'expiry'));
  };

  test('idle limit, then Redis restarted empty', async () => {
    const steps = [land, login, health, { name: 'past the idle limit', wait: limitMs + 400 }, health, ...retry];
    const result = await run('idle-before-redis-restart', { servers: 2, store: 'redis', session: { idleTimeoutMs: limitMs }, faults: ['restart-redis,after=4'] }, steps, 1, answered);
    check(result, 'redis-restarted', 2, `idle limit ${limitMs} ms ran out`);
  });

  test('absolute limit, then the backend holding it restarted (memory)', async () => {
    const steps = [land, login, health, { name: 'past the absolute limit', wait: limitMs + 400 }, health, ...retry];
    const result = await run(
      'absolute-before-backend-restart',
      { servers: 1, store: 'memory', session: { absoluteTimeoutMs: limitMs }, faults: ['restart-backend=app-1,after=4'] },
      steps,
      1,
      answered,
    );
    check(result, 'backend-restarted', 2, `absolute limit ${limitMs} ms since login ran out`);
  });
});

// Independent of the two above (a cluster of its own): it runs beside them.
test.concurrent('a cookie that lapses while a slow request is in flight: the next request without it is an expiry reset, none missed', async () => {
  // Max-Age=1 from the login's answer, then cart adds that each take 300 ms on the server: the cookie
  // runs out while one of them is on its way (it left with the cookie), so the jar read after that
  // answer no longer holds it — and the next request goes without.
  const add: ScenarioStep = { name: 'slow add', method: 'POST', path: '/cart/items', json: { sku: 'u{{user}}-{{step}}', delayMs: 300 } };
  const steady: ScenarioStep[] = Array.from({ length: 8 }, () => [{ name: 'pause', wait: 50 }, add]).flat();
  const result = await run('lapse-in-flight', { servers: 2, store: 'redis', session: { cookieMaxAgeMs: 1000, rolling: false } }, [land, login, ...steady], 3);
  expect(result.errors).toBe(0);
  // After the login, a request that carried no session cookie got a new session: the cookie ran out in the jar.
  const lapsed = result.records.filter((r) => r.step > 2 && r.sessionIdSent === undefined && r.sessionStatus === 'created');
  expect(lapsed.length).toBeGreaterThan(0);
  for (const r of lapsed) {
    const verdict = result.resets.find((v) => v.user === r.user && v.step === r.step);
    expect(verdict?.cause, `user ${r.user} step ${r.step}`).toBe('expiry');
    expect(verdict?.evidence).toContain('Max-Age=1');
  }
  expect(causes(result)).toEqual(result.resets.map(() => 'expiry'));
});
