/** Every cookie fault injected on a healthy cluster, as `session-lab run X --fault F` does. */
import { describe, expect, test } from 'vitest';
import { FAULTS } from '../../harness/fault/faults.js';
import { runCli } from '../helpers/cli.js';
import { waitForNoMarked } from '../helpers/processes.js';
import { runBuiltIn, sharedRun } from '../helpers/scenario-run.js';

/** For each fault: a healthy scenario it breaks (by --fixed or a healthy store). */
const CASES: { fault: string; scenario: string; evidence: RegExp }[] = [
  { fault: 'strip-cookie', scenario: 'login-browse', evidence: /fault strip-cookie: removed the Cookie header/ },
  { fault: 'strip-set-cookie', scenario: 'login-browse', evidence: /fault strip-set-cookie: removed 2 Set-Cookie headers/ },
  { fault: 'drop-cookie=sid', scenario: 'login-browse', evidence: /fault drop-cookie=sid: dropped cookie sid/ },
  { fault: 'allow-cookies=csrf', scenario: 'login-browse', evidence: /fault allow-cookies=csrf: forwarded only csrf; dropped sid/ },
  { fault: 'cap-cookie=8192', scenario: 'cookie-header-trimmed', evidence: /fault cap-cookie=8192: trimmed the Cookie header/ },
  { fault: 'merge-set-cookie', scenario: 'login-browse', evidence: /fault merge-set-cookie: merged 2 Set-Cookie headers into one/ },
  { fault: 'drop-forwarded-proto', scenario: 'untrusted-proxy-secure-cookie', evidence: /the balancer dropped X-Forwarded-Proto \(fault drop-forwarded-proto/ },
];

describe.concurrent('--fault on a healthy run', () => {
  test('every fault has a case here', () => {
    expect(new Set(CASES.map((c) => c.fault.split('=')[0]))).toEqual(new Set(FAULTS.map((f) => f.name)));
  });

  for (const { fault, scenario, evidence } of CASES) {
    test(`${fault} on ${scenario}: transmission resets, quoting the fault`, async () => {
      // The healthy run of a scenario is shared by the faults that break it.
      const healthy = await sharedRun(scenario, { fixed: true });
      expect(healthy.resets).toEqual([]);
      const result = await runBuiltIn(scenario, { fixed: true, faults: [fault] });
      expect(result.resets.length).toBeGreaterThan(0);
      expect(new Set(result.resets.map((v) => v.cause))).toEqual(new Set(['transmission']));
      expect(result.resets[0].evidence).toMatch(evidence);
      expect(result.passed).toBe(false);
    });
  }

  test('cap-cookie=8192:431 refuses the oversized requests: failed requests, not resets', async () => {
    const result = await runBuiltIn('cookie-header-trimmed', { fixed: true, faults: ['cap-cookie=8192:431'] });
    expect(result.resets).toEqual([]);
    const rejected = result.records.filter((r) => r.status === 431);
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected[0].proxy?.faults[0].note).toMatch(/^rejected the request with 431: Cookie header \d+ bytes > limit 8192$/);
    expect(result.failures.some((f) => f.message === 'status: expected 200, got 431')).toBe(true);
  });

  test('a fault with a probability acts on some requests only', async () => {
    const result = await runBuiltIn('login-browse', { fixed: true, faults: ['strip-cookie@0.5'], users: 10 });
    const acted = result.records.filter((r) => r.proxy?.faults.length).length;
    expect(acted).toBeGreaterThan(0);
    expect(acted).toBeLessThan(result.records.filter((r) => r.cookieSent).length);
  });
});

describe('session-lab run --fault', () => {
  test('a built-in run with --fault strip-set-cookie reports transmission only, in --json', async () => {
    // One backend on a shared store: nothing but the fault can reset a session.
    const result = await runCli(['run', 'login-browse', '--store', 'redis', '--servers', '1', '--fault', 'strip-set-cookie', '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.faults).toEqual(['strip-set-cookie']);
    expect(report.resets.length).toBeGreaterThan(0);
    expect(new Set(report.resets.map((v: { cause: string }) => v.cause))).toEqual(new Set(['transmission']));
  });

  test('an unknown fault exits 2 listing the known ones, before anything starts', async () => {
    const result = await runCli(['run', 'login-browse', '--fault', 'drop-everything']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown fault "drop-everything"');
    for (const fault of FAULTS) expect(result.stderr).toContain(fault.usage);
  });

  test('a fault the cluster cannot have exits 2 before the run, and stops what it started', async () => {
    const noBackend = await runCli(['run', 'login-browse', '--fault', 'kill-backend=app-7']);
    expect(noBackend.code).toBe(2);
    expect(noBackend.stderr).toContain('no backend app-7; expected one of app-1, app-2, app-3');
    expect(await waitForNoMarked(noBackend.marker)).toEqual([]);
    const noRedis = await runCli(['run', 'login-browse', '--store', 'memory', '--servers', '1', '--fault', 'restart-redis']);
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toContain('the cluster has no Redis');
  });

  test('session-lab scenarios lists every built-in scenario with its cause', async () => {
    const result = await runCli(['scenarios']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/secure-cookie-http-link\s+transmission/);
    expect(result.stdout).toMatch(/untrusted-proxy-secure-cookie\s+transmission/);
    expect(result.stdout).toContain('expressjs/session #165, #281');
  });
});
