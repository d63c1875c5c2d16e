/**
 * An ordinary Express 4 + express-session app session-lab has never seen
 * (test/fixtures/express-app/app.js: reads PORT and REDIS_URL, knows
 * nothing of session-lab), run with `--app "node app.js"` and its own
 * scenario. Its answers carry no session report, so every verdict is the
 * black-box diagnosis's.
 *
 * Each replica is a process loading Express (~0.35 s of CPU a start), so the
 * clusters are as small as still shows every property asserted: two
 * replicas, since session-lab's round-robin (seeded-turn.ts) moves each user
 * one replica on at every step, so a session issued by one is sent to the
 * other. Tests that read the same configuration read one run (fixtureRun);
 * none changes a result. The runs are independent, so the tests run side by
 * side (describe.concurrent, at most maxConcurrency at once).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCluster } from '../../harness/cluster.js';
import { runScenario } from '../../harness/runner/run.js';
import { loadScenario } from '../../harness/scenario/load.js';
import { planRun } from '../../harness/scenario/plan.js';
import type { Verdict } from '../../harness/diagnosis/diagnose.js';
import type { RunResult } from '../../harness/runner/run.js';
import { renderRunReport } from '../../harness/report/html-report.js';
import { renderMarkdownSummary } from '../../harness/report/markdown.js';
import { runCli } from '../helpers/cli.js';
import { isAlive, waitForNoMarked } from '../helpers/processes.js';
import { expectReplicationNamingBothBackends } from '../helpers/verdicts.js';

const APP_DIR = join(import.meta.dirname, '..', 'fixtures', 'express-app');
const SCENARIO = join(APP_DIR, 'login-account.yaml');
const SECRET_SCENARIO = join(APP_DIR, 'secret-per-replica.yaml');
/** The smallest cluster that shows a replica refusing what another issued (see the header). */
const SERVERS = 2;

const fixtureRuns = new Map<string, Promise<{ result: RunResult; pids: number[] }>>();

/**
 * One run of the fixture per scenario, store and environment, shared by the
 * tests that read it: the cluster is stopped before any of them reads it.
 */
function fixtureRun(file: string, options: { store?: 'memory' | 'redis'; env?: Record<string, string>; fixed?: boolean } = {}) {
  const key = JSON.stringify([file, options]);
  let run = fixtureRuns.get(key);
  if (!run) {
    run = (async () => {
      const scenario = loadScenario(file);
      const plan = planRun(scenario, { fixed: options.fixed, cluster: { store: options.store, servers: SERVERS } });
      const app = options.env ? { ...plan.cluster.app!, env: options.env } : plan.cluster.app!;
      await using cluster = await startCluster({ ...plan.cluster, app });
      const result = await runScenario(cluster, scenario, { users: 4, client: plan.client });
      return { result, pids: cluster.backends.map((b) => b.pid!) };
    })();
    fixtureRuns.set(key, run);
  }
  return run;
}

const runFixture = (store: 'memory' | 'redis', env: Record<string, string> = {}) => fixtureRun(SCENARIO, { store, env });
/** secret-per-replica.yaml --fixed: one secret for every replica, sessions in Redis. */
const oneSecretInRedis = () => fixtureRun(SECRET_SCENARIO, { fixed: true });

describe.concurrent('your own app, from a command', () => {
  it('memory store: each reset is replication, naming the backend that issued the id and the one that refused it', async () => {
    const { result, pids } = await runFixture('memory', { SESSION_SECRET: 'one-secret-for-all' });
    expect(result.passed).toBe(false);
    expectReplicationNamingBothBackends(result.resets);
    // The cookie name was detected from the app's first Set-Cookie.
    expect(result.records.some((r) => r.sessionIdSent !== undefined)).toBe(true);
    // The replicas (and anything they started) are gone with the cluster.
    expect(pids.filter(isAlive)).toEqual([]);
  });

  it('the reports quote what the replicas logged around a reset, without a session id or the password the app printed', async () => {
    const { result } = await runFixture('memory', { SESSION_SECRET: 'one-secret-for-all' });
    const replication = result.resets.filter((v) => v.cause === 'replication');
    expect(replication.length).toBeGreaterThan(0);
    const logs = result.backendLogs ?? [];
    const first = replication[0];
    const excerpt = logs.find((e) => e.user === first.user && e.step === first.step);
    // The fixture logs every request (Cookie header included) and its login bodies: both backends' lines are quoted.
    expect(excerpt?.backends).toEqual([first.backend, (first.facts as { issuedBy?: string }).issuedBy]);
    expect(excerpt!.lines.some((line) => line.includes(`${first.backend} | GET /account -> 302 cookie=connect.sid=sid#`))).toBe(true);
    const html = renderRunReport(result, { cookieName: 'connect.sid' });
    const markdown = renderMarkdownSummary(result);
    expect(html).toContain('class="backend-log"');
    expect(markdown).toContain(`Log of ${excerpt!.backends.join(', ')}`);
    // No secret: not the password the app printed, not a cookie value or session id the run saw.
    const ids = result.records.flatMap((r) => [r.sessionIdSent, r.sessionIdAfter]).filter((id): id is string => id !== undefined);
    for (const text of [html, markdown, JSON.stringify(logs)]) {
      expect(text).not.toContain('alice-pw');
      for (const id of ids) {
        expect(text).not.toContain(id);
        expect(text).not.toContain(decodeURIComponent(id).slice(2, decodeURIComponent(id).lastIndexOf('.')));
      }
    }
  });

  it('connect-redis with one secret: no reset, every expectation holds', async () => {
    // The same configuration as secret-per-replica.yaml --fixed (same app, store, secret and steps): one run for both tests.
    const { result } = await oneSecretInRedis();
    expect(result.resets.filter((v) => !v.expected)).toEqual([]);
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(true);
  });

  it('connect-redis with a secret per replica: the resets are named replication (configuration not replicated), never another cause', async () => {
    const { result } = await runFixture('redis');
    const unexpected = result.resets.filter((v) => !v.expected);
    expect(unexpected.length).toBeGreaterThan(0);
    const replication = unexpected.filter((v) => v.cause === 'replication');
    expect(replication.length).toBeGreaterThan(0);
    for (const verdict of unexpected) expect(['replication', 'unclassified']).toContain(verdict.cause);
    // The shared store held the session when the other replica refused the cookie: the refusal is the cookie's, and the verdict says so.
    for (const verdict of replication) {
      expect(verdict.evidence).toMatch(/shared store \(Redis\) held that session right then, so (app-\d) refused a cookie whose session it could read: it rejects the cookies (app-\d) signs/);
      expect(verdict.facts).toMatchObject({ kind: 'wire', storeHeld: true });
    }
  });

  it('the CLI runs it: --app, --app-cwd, --app-env, --store redis', async () => {
    const { code, stdout, stderr, marker } = await runCli([
      'run',
      SCENARIO,
      '--app',
      'node app.js',
      '--app-cwd',
      APP_DIR,
      '--app-env',
      'SESSION_SECRET=s3cret',
      '--store',
      'redis',
      '--servers',
      '2',
      '--users',
      '1',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('PASSED');
    expect(await waitForNoMarked(marker)).toEqual([]);
  });
});

describe.concurrent('a secret per replica (secret-per-replica.yaml: {BACKEND_ID} in SESSION_SECRET)', () => {
  const runSecret = async (options: { fixed?: boolean; store?: 'memory' | 'redis' } = {}) => (await fixtureRun(SECRET_SCENARIO, options)).result;

  it('each replica gets its own value', () => {
    const plan = planRun(loadScenario(SECRET_SCENARIO));
    expect(plan.cluster.app!.env).toEqual({ SESSION_SECRET: 'secret-of-{BACKEND_ID}' });
    expect(planRun(loadScenario(SECRET_SCENARIO), { fixed: true }).cluster.app!.env).toEqual({ SESSION_SECRET: 'one-secret-for-all' });
  });

  it('shared Redis: replication, saying the store held the session and the other replica rejected its cookie; --fixed: no reset', async () => {
    const result = await runSecret();
    // Resets the scenario demonstrates: every one but the logout's.
    const unexpected = result.resets.filter((v) => v.request !== 'POST /logout');
    const replication = unexpected.filter((v) => v.cause === 'replication');
    expect(replication.length).toBeGreaterThan(0);
    for (const verdict of unexpected) expect(['replication', 'unclassified']).toContain(verdict.cause);
    for (const verdict of replication) {
      const match = /issued by (app-\d) at step \d+ \(POST \/login\); the request carrying it went to (app-\d)/.exec(verdict.evidence);
      expect(match![1]).not.toBe(match![2]);
      expect(verdict.evidence).toContain(`so ${match![2]} refused a cookie whose session it could read: it rejects the cookies ${match![1]} signs`);
    }
    const fixed = (await oneSecretInRedis()).result;
    expect(fixed.resets.filter((v) => !v.expected)).toEqual([]);
    expect(fixed.passed).toBe(true);
  });

  it('memory sessions: replication, and no claim about a shared store the run does not have', async () => {
    const result = await runSecret({ store: 'memory' });
    const lost = result.resets.filter((v) => v.request !== 'POST /logout');
    const replication = lost.filter((v) => v.cause === 'replication');
    expect(replication.length).toBeGreaterThan(0);
    for (const verdict of lost) expect(['replication', 'unclassified']).toContain(verdict.cause);
    for (const verdict of replication) {
      expect(verdict.evidence).not.toContain('shared store');
      expect(verdict.evidence).toContain('does not share');
    }
  });

  it("the CLI: --app-env SESSION_SECRET=s-{BACKEND_ID} on the scenario's app; a misspelt placeholder is refused (exit 2)", async () => {
    // No --app: the flag changes the scenario's own app block.
    const run = await runCli(['run', SCENARIO, '--app-env', 'SESSION_SECRET=s-{BACKEND_ID}', '--store', 'redis', '--servers', '2', '--users', '4', '--json']);
    expect(run.code, run.stderr).toBe(1);
    const json = JSON.parse(run.stdout) as { resets: Verdict[] };
    expect(json.resets.some((v) => v.cause === 'replication' && v.evidence.includes('refused a cookie whose session it could read'))).toBe(true);
    expect(await waitForNoMarked(run.marker)).toEqual([]);
    const bad = await runCli(['run', SCENARIO, '--app', 'node app.js', '--app-cwd', APP_DIR, '--app-env', 'SESSION_SECRET=s-{BACKEND}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('SESSION_SECRET=s-{BACKEND}');
    expect(bad.stderr).toContain('{BACKEND_ID}');
  });
});

describe.concurrent('an app that never gets ready, or crashes', () => {
  it('crashing: exit 3 naming the command and the replica, quoting its last output; nothing left running', async () => {
    const { code, stderr, marker } = await runCli(['run', SCENARIO, '--app', "node -e \"console.log('booting'); console.error('Error: secret missing'); process.exit(1)\"", '--servers', '2']);
    expect(code).toBe(3);
    expect(stderr).toContain('SLAB_ERR_APP_START');
    expect(stderr).toMatch(/replica app-[12]/);
    expect(stderr).toContain('exited with code 1');
    expect(stderr).toContain('| Error: secret missing');
    expect(await waitForNoMarked(marker)).toEqual([]);
  });

  it('never ready: exit 3 after the start-up timeout, quoting its last output; nothing left running', async () => {
    const { code, stderr, marker } = await runCli([
      'run',
      SCENARIO,
      '--app',
      // A shell prints at once; a node -e took over the 1 s to print on a loaded machine (stress run, load 14).
      "echo 'listening on a port of my own'; exec sleep 600",
      '--app-start-timeout',
      '1s',
      '--servers',
      '2',
    ]);
    expect(code).toBe(3);
    expect(stderr).toContain('SLAB_ERR_APP_START');
    expect(stderr).toMatch(/replica app-[12]: not ready within 1000 ms/);
    expect(stderr).toContain('| listening on a port of my own');
    expect(await waitForNoMarked(marker)).toEqual([]);
  });

  it('bad flags are refused before anything starts (exit 2)', async () => {
    const missingDir = await runCli(['run', SCENARIO, '--app', 'node app.js', '--app-cwd', join(APP_DIR, 'no-such-dir')]);
    expect(missingDir.code).toBe(2);
    expect(missingDir.stderr).toContain('--app-cwd: expected an existing directory');
    const badEnv = await runCli(['run', SCENARIO, '--app', 'node app.js', '--app-env', 'NOEQUALS']);
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('--app-env: expected KEY=VALUE');
  });
});
