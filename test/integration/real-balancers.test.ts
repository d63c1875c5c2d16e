/**
 * nginx and HAProxy from PATH in front of real clusters, each backend behind
 * its recording tap: the expected resets per strategy, a user's own config,
 * a broken one, and nothing left running.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { NGINX_TEMPLATE } from '../../harness/balancer/config-template.js';
import { timeoutBudgetMs } from '../../harness/util/budget.js';
import type { RunResult } from '../../harness/runner/run.js';
import type { RequestRecord } from '../../harness/history/history.js';
import { runCli, startCli } from '../helpers/cli.js';
import { descendantsOf, waitForDescendants, waitForGone, waitForNoMarked } from '../helpers/processes.js';
import { runBuiltIn } from '../helpers/scenario-run.js';
import { loadScenario } from '../../harness/scenario/load.js';
import { planRun } from '../../harness/scenario/plan.js';
import { keepHistoryOnFailure } from '../helpers/keep-history.js';

const dir = mkdtempSync(join(tmpdir(), 'slab-real-balancers-'));

/** A user's nginx.conf, as a user writes it: a CDN-like rule that clears the Cookie header. */
const USER_CONF_STRIPPING_COOKIES = `# my nginx in front of the shop
events {}
http {
  access_log off;
  client_body_temp_path {{prefix}}/body;
  proxy_temp_path {{prefix}}/proxy;
  fastcgi_temp_path {{prefix}}/fastcgi;
  uwsgi_temp_path {{prefix}}/uwsgi;
  scgi_temp_path {{prefix}}/scgi;
  upstream shop { {{servers}} }
  server {
    listen {{listen}};
    location / {
      proxy_pass http://shop;
      proxy_set_header Host $http_host;
      proxy_set_header Cookie "";
    }
  }
}
`;

const fixedRuns = new Map<string, Promise<RunResult>>();

/**
 * A scenario's --fixed run behind nginx (2 users), made once for every
 * scenario whose fixed run is the same run: five of the cookie-fault
 * scenarios differ only in their names and in the misconfiguration --fixed
 * takes away. The key is everything that makes the run (the plan, the steps
 * and every other scenario field but its name and description), so a
 * scenario that differs in any of them gets a run of its own.
 */
function fixedBehindNginx(name: string): Promise<RunResult> {
  const overrides = { cluster: { balancer: 'nginx' as const }, users: 2, fixed: true };
  const { name: _name, description: _description, demonstrates: _demonstrates, reproduces: _reproduces, file: _file, misconfiguration, ...rest } = loadScenario(name);
  const key = JSON.stringify([planRun(loadScenario(name), overrides), rest, misconfiguration !== undefined]);
  let run = fixedRuns.get(key);
  if (!run) {
    run = runBuiltIn(name, overrides);
    fixedRuns.set(key, run);
  }
  return run;
}

function everyRecordTapped(result: RunResult): void {
  for (const r of result.records) {
    expect(r.tap, `step ${r.step} of user ${r.user}`).toBeDefined();
    expect(r.tap!.requestId).toBe(r.requestId);
    expect(r.tap!.backend).toBe(r.backend);
  }
}

describe.concurrent('real balancers with memory sessions', () => {
  test('nginx round-robin: replication resets, every request seen by its backend tap', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'memory', balancer: 'nginx' }, users: 4 });
    expect(result.resetsTotal).toBeGreaterThan(0);
    expect(result.resets.every((v) => v.cause === 'replication')).toBe(true);
    expect(Object.values(result.requestsPerBackend).filter((n) => n > 0).length).toBe(3);
    everyRecordTapped(result);
    // The tap saw the headers nginx forwarded.
    expect(result.records[0].tap!.forwardedProto).toBe('http');
    expect(result.records[0].tap!.host).toBe('shop.example.test');
  });

  test('nginx ip_hash with every user behind one address: all on one backend, no reset', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'memory', balancer: 'nginx:ip-hash' }, users: 6, clientAddresses: 1 });
    expect(result.resets).toEqual([]);
    expect(result.failures).toEqual([]);
    expect(Object.values(result.requestsPerBackend).filter((n) => n > 0)).toEqual([result.requests]);
  });

  test('HAProxy cookie-insert: no reset, each user stays on one backend', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'memory', balancer: 'haproxy:cookie-insert' }, users: 6 });
    expect(result.resets).toEqual([]);
    expect(result.failures).toEqual([]);
    for (let user = 1; user <= 6; user++) expect(new Set(result.records.filter((r) => r.user === user).map((r) => r.backend)).size).toBe(1);
    everyRecordTapped(result);
  });

  test('HAProxy cookie-insert, its backend killed: only users pinned there are reset, cause replication naming the kill', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'memory', balancer: 'haproxy:cookie-insert' }, users: 12, faults: ['kill-backend=app-1,after=24'] });
    await keepHistoryOnFailure('haproxy-kill', result, () => {
      const hit = result.events.find((e) => e.kind === 'backend-killed')!;
      expect(hit.backend).toBe('app-1');
      // Pinned to app-1: app-1 answered them (cookie-insert pins on the first answer), whenever the
      // answer arrived — one in flight across the kill was answered before the SIGKILL, and pins too.
      const answered = (r: RequestRecord) => !r.error && r.status > 0 && r.backend !== undefined;
      const pinned = [...new Set(result.records.filter((r) => answered(r) && r.backend === 'app-1').map((r) => r.user))];
      // Came back: a backend answered them after the kill. A request that got no answer (sent to the
      // dead one before HAProxy's check marked it down: more of them on a busy machine) is a failed
      // request, never a reset (RULES.md), so a user whose every later request failed is not reset.
      const cameBack = pinned.filter((user) => result.records.some((r) => r.user === user && r.time > hit.time && answered(r)));
      expect(cameBack.length).toBeGreaterThan(0);
      const reset = new Set(result.resets.map((v) => v.user));
      for (const user of cameBack) expect(reset.has(user)).toBe(true);
      for (const user of reset) expect(pinned).toContain(user);
      for (const v of result.resets) {
        expect(v.cause).toBe('replication');
        expect(v.evidence).toContain('app-1 was killed at');
      }
      // A dead backend answers nothing. (Until HAProxy's health check marks it
      // down, a request may still be sent its way and fail: that is HAProxy's
      // behaviour, and how soon depends on the machine, so it is not asserted.)
      const answeredByTheDead = result.records.filter((r) => r.time > hit.time && r.backend === 'app-1' && r.status > 0);
      expect(answeredByTheDead).toEqual([]);
    });
  });
});

describe.concurrent('cookie faults behind real nginx', () => {
  test("a user's nginx.conf that clears the Cookie header reproduces cdn-strips-cookie: transmission, at the balancer, from the tap", async () => {
    const file = join(dir, 'strips-cookie.conf');
    writeFileSync(file, USER_CONF_STRIPPING_COOKIES);
    const result = await runBuiltIn('cdn-strips-cookie', { cluster: { balancer: 'nginx', balancerConfig: file }, users: 2 });
    expect(result.passed).toBe(true);
    expect(result.resetsTotal).toBeGreaterThan(0);
    for (const v of result.resets) {
      expect(v.cause).toBe('transmission');
      expect(v.evidence).toMatch(/client sent sid#[0-9a-f]+, app-\d received no sid cookie — at the balancer \(nginx\): app-\d's tap saw the request arrive with no Cookie header/);
    }
    // The client did send its cookie; the backend got none.
    const step = result.records.find((r) => r.step === 2 && r.user === 1)!;
    expect(step.cookieSent).toContain('sid=');
    expect(step.tap!.cookie).toBeUndefined();
    // No session id in evidence, only its hash.
    expect(JSON.stringify(result.resets)).not.toContain(step.sessionIdSent);
  });

  test.for(['cdn-strips-cookie', 'cdn-strips-set-cookie', 'proxy-drops-session-cookie', 'cdn-cookie-allow-list', 'proxy-merges-set-cookie', 'proxy-drops-forwarded-proto'])(
    '%s with --balancer nginx runs its nginx config (docker/nginx/faults/) and reports the same cause',
    async (name) => {
      const result = await runBuiltIn(name, { cluster: { balancer: 'nginx' }, users: 2 });
      expect(result.failures).toEqual([]);
      expect(result.resetsTotal).toBeGreaterThan(0);
      expect(result.resets.every((v) => v.cause === 'transmission' && v.evidence.includes('at the balancer (nginx)'))).toBe(true);
      const fixed = await fixedBehindNginx(name);
      expect(fixed.resets).toEqual([]);
    },
  );
});

describe.concurrent('the command line', () => {
  // Six clusters one after another: each may take the budget to start and again to run.
  test(
    'compare memory and Redis behind round-robin, nginx and HAProxy cookie-insert: 6 rows, resets only where sessions are in memory and not sticky',
    { timeout: 12 * timeoutBudgetMs() },
    async () => {
      // Two users (not compare's default ten): two users on three backends still cross them behind
      // nginx's round-robin, whatever order they arrive in, and each is pinned behind cookie-insert.
      const cli = await runCli(['compare', '--scenario', 'login-browse', '--stores', 'memory,redis', '--balancers', 'round-robin,nginx,haproxy:cookie-insert', '--users', '2', '--format', 'json']);
      expect(cli.code).toBe(0);
      const parsed = JSON.parse(cli.stdout) as { rows?: unknown[] } | unknown[];
      const rows = (Array.isArray(parsed) ? parsed : parsed.rows!) as { store: string; balancer: string; resets: number; resetsByCause: Record<string, number>; requests: number }[];
      expect(rows.map((r) => `${r.store} ${r.balancer}`)).toEqual([
        'memory round-robin',
        'memory nginx',
        'memory haproxy:cookie-insert',
        'redis round-robin',
        'redis nginx',
        'redis haproxy:cookie-insert',
      ]);
      for (const row of rows) {
        expect(row.requests).toBeGreaterThan(0);
        if (row.store === 'memory' && row.balancer !== 'haproxy:cookie-insert') {
          expect(row.resets).toBeGreaterThan(0);
          expect(row.resetsByCause.replication).toBe(row.resets);
        } else {
          expect(row.resets).toBe(0);
        }
      }
      expect(await waitForNoMarked(cli.marker)).toEqual([]);
    },
  );

  test('a broken user config is exit 2 quoting nginx -t, with the line in the user file, and nothing left running', async () => {
    const file = join(dir, 'broken.conf');
    writeFileSync(file, readFileSync(NGINX_TEMPLATE, 'utf8').replace('proxy_http_version 1.1;', 'proxy_http_versoin 1.1;'));
    const line =
      readFileSync(file, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('proxy_http_versoin')) + 1;
    const cli = await runCli(['run', 'login-browse', '--balancer', 'nginx', '--balancer-config', file]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('SLAB_ERR_BALANCER_CONFIG');
    expect(cli.stderr).toContain('nginx -t refused the config');
    expect(cli.stderr).toContain(`unknown directive "proxy_http_versoin" in ${file}:${line}`);
    expect(await waitForNoMarked(cli.marker)).toEqual([]);
  });

  test('a balancer that fails to start is exit 1 quoting its error log, and nothing is left running', async () => {
    // A port held here: nginx -t accepts a second listener on it, binding it fails.
    const held = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    const port = (held.address() as AddressInfo).port;
    const file = join(dir, 'port-taken.conf');
    writeFileSync(file, USER_CONF_STRIPPING_COOKIES.replace('    listen {{listen}};', `    listen {{listen}};\n    listen 127.0.0.1:${port};`));
    try {
      // One backend: the one started before the balancer failed, which must be stopped too.
      const cli = await runCli(['run', 'login-browse', '--balancer', 'nginx', '--balancer-config', file, '--servers', '1']);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain('SLAB_ERR_BALANCER_START');
      expect(cli.stderr).toContain('its error log says');
      expect(cli.stderr).toContain(`bind() to 127.0.0.1:${port} failed (98: Address already in use)`);
      expect(await waitForNoMarked(cli.marker)).toEqual([]);
    } finally {
      held.close();
    }
  });

  test('a config without the placeholders is exit 2 naming them', async () => {
    const file = join(dir, 'no-placeholders.conf');
    writeFileSync(file, 'events {}\nhttp { server { listen 127.0.0.1:1; } }\n');
    const cli = await runCli(['run', 'login-browse', '--balancer', 'haproxy', '--balancer-config', file]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('{{listen}} and {{servers}}');
  });

  test('a balancer missing from PATH is exit 3 saying how to install it', async () => {
    const cli = await runCli(['run', 'login-browse', '--balancer', 'haproxy:source'], { PATH: dir });
    expect(cli.code).toBe(3);
    expect(cli.stderr).toContain('SLAB_ERR_BINARY_MISSING');
    expect(cli.stderr).toContain('apt-get install haproxy');
    expect(await waitForNoMarked(cli.marker)).toEqual([]);
  });

  // Two CLIs one after another, each starting backends and a balancer on a busy machine.
  test('SIGKILL of the harness: nginx, HAProxy and the taps die with it', { timeout: 8 * timeoutBudgetMs() }, async () => {
    for (const balancer of ['nginx', 'haproxy']) {
      // One backend is enough: the subject is the balancer and its keeper.
      const cli = startCli(['run', 'login-browse', '--balancer', balancer, '--servers', '1', '--users', '50', '--repeat', '1000']);
      // The backend, the keeper, the balancer, the keeper's reader (the balancer's keeper starts after the backends).
      let tree: number[];
      try {
        tree = await waitForDescendants(cli.child.pid!, 4, 3 * timeoutBudgetMs());
        expect(descendantsOf(cli.child.pid!).length).toBeGreaterThanOrEqual(4);
      } catch (error) {
        // Not started in time: stop it in order rather than leave a long run behind.
        cli.child.kill('SIGTERM');
        await cli.done;
        throw error;
      }
      cli.child.kill('SIGKILL');
      await cli.done;
      expect(await waitForGone(tree)).toEqual([]);
    }
  });
});
