/** The library as a project uses it: plans applied or refused, inline scenarios, vitest matchers. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import '../../harness/testing/vitest.js';
import { sessionMatchers } from '../../harness/testing/vitest.js';
import { defineScenario, loadScenario, planConflicts, planRun, runScenario, runScenarioOnNewCluster, startCluster, type HarnessError } from '../../harness/index.js';

describe('runScenario applies the scenario plan', () => {
  test('a started cluster without the https and session settings the scenario needs: SLAB_ERR_PLAN_CONFLICT naming each and the way out', async () => {
    await using cluster = await startCluster({ servers: 2 });
    const error = (await runScenario(cluster, loadScenario('secure-cookie-http-link')).catch((e: unknown) => e)) as HarnessError;
    expect(error.code).toBe('SLAB_ERR_PLAN_CONFLICT');
    expect(error.message).toContain('https: the scenario needs true, the cluster has false');
    expect(error.message).toContain('session.secureCookie: the scenario needs "on", the cluster has "auto"');
    expect(error.message).toContain('session.partnerLinkScheme: the scenario needs "http"');
    expect(error.message).toContain('runScenarioOnNewCluster(scenario, overrides)');
  });

  test("the store and balancer are the caller's choice, as flags win over a scenario: no conflict", () => {
    const plan = planRun(loadScenario('login-browse'));
    expect(planConflicts({ ...resolvedDefaults(), store: 'redis', balancer: 'sticky', servers: 5 }, plan)).toEqual([]);
  });

  test('runScenarioOnNewCluster runs the scenario as planned: secure-cookie-http-link reports transmission', async () => {
    const result = await runScenarioOnNewCluster(loadScenario('secure-cookie-http-link'));
    expect(result).toResetWith('transmission');
    expect(result.passed).toBe(true);
  });
});

describe('defineScenario', () => {
  test('a typed plain object, validated like a file, runnable', async () => {
    const scenario = defineScenario({ name: 'browse', description: 'land twice', steps: [{ method: 'GET', path: '/', repeat: 2, expect: { status: 200 } }] });
    // One server: memory sessions behind round-robin over several would reset (replication).
    await using cluster = await startCluster({ servers: 1 });
    const result = await runScenario(cluster, scenario, { users: 2 });
    expect(result.requests).toBe(4);
    expect(result).toKeepSessions();
  });

  test('a bad field: SLAB_ERR_SCENARIO_INVALID with its path', () => {
    // @ts-expect-error: a string where a number belongs, as a JS caller may write
    const bad = () => defineScenario({ name: 'bad', description: 'x', steps: [{ method: 'GET', path: '/', expect: { status: 'two hundred' } }] });
    expect(bad).toThrow(/steps\[0\]\.expect\.status/);
  });
});

describe('session-lab/vitest matchers', () => {
  test('login-browse resets with replication; the failure message of toKeepSessions is the report', async () => {
    const result = await runScenarioOnNewCluster(loadScenario('login-browse'), { users: 4 });
    expect(result).toResetWith('replication');
    const failed = sessionMatchers.toKeepSessions(result);
    expect(failed.pass).toBe(false);
    const message = failed.message();
    expect(message).toContain(`expected every session to be kept, but ${result.resetsTotal} reset (replication ${result.resetsTotal})`);
    expect(message).toContain('session reset — cause: replication');
    expect(message).toMatch(/balancer chose app-\d/);
    expect(sessionMatchers.toResetWith(result, 'transmission').message()).toContain(`expected every reset to have cause transmission, got replication ${result.resetsTotal}`);
    expect(() => sessionMatchers.toResetWith(result, 'bogus' as never)).toThrow(/expected one of replication, transmission, code, expiry, unclassified/);
  });
});

test('importing the library does not load testcontainers (only a container run does)', () => {
  const hook = `data:text/javascript,${encodeURIComponent('export async function resolve(s, c, next) { if (s === "testcontainers" || s.startsWith("testcontainers/")) throw new Error("testcontainers loaded"); return next(s, c); }')}`;
  const index = join(import.meta.dirname, '..', '..', 'dist', 'harness', 'index.js');
  const script = `import { register } from 'node:module'; register(${JSON.stringify(hook)}); const lib = await import(${JSON.stringify(index)}); const c = await lib.startCluster({ servers: 1 }); await c.stop(); console.log('ok');`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(child.stderr).not.toContain('testcontainers loaded');
  expect(child.stdout.trim()).toBe('ok');
});

function resolvedDefaults() {
  return {
    servers: 3,
    store: 'memory',
    balancer: 'round-robin',
    https: false,
    site: 'shop.example.test',
    session: {},
    faults: [],
    recordBackendLog: true,
    recordProxyHistory: true,
  } as unknown as Parameters<typeof planConflicts>[0];
}
