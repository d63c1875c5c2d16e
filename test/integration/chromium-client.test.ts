/**
 * `session-lab run --client chromium`: the same scenario, its requests sent
 * by real headless Chromium profiles instead of virtual users, gives the
 * same verdicts — the browser's own cookie engine confirms the diagnosis.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { startChromiumClients } from '../../harness/client/chromium-user.js';
import { runCli } from '../helpers/cli.js';

interface JsonVerdict {
  user: number;
  step: number;
  request: string;
  cause: string;
  expected: boolean;
  evidence: string;
}

async function verdicts(name: string, client: string) {
  const result = await runCli(['run', name, '--users', '2', '--client', client, '--json']);
  expect(result.stderr).not.toMatch(/Error/);
  const run = JSON.parse(result.stdout) as { passed: boolean; errors: number; client: string; resets: JsonVerdict[] };
  // The result says which client sent the requests: a verdict "confirmed by Chromium" must be Chromium's.
  expect(run.client).toBe(client);
  return { code: result.code, run, verdicts: run.resets.map(({ user, step, request, cause, expected, evidence }) => ({ user, step, request, cause, expected, evidence })) };
}

describe.concurrent('--client chromium gives the verdicts of the default client', () => {
  for (const name of ['secure-cookie-http-link', 'samesite-strict-partner-link']) {
    test(name, async () => {
      const [jar, chromium] = await Promise.all([verdicts(name, 'virtual-user'), verdicts(name, 'chromium')]);
      expect(jar.run.errors).toBe(0);
      expect(chromium.run.errors).toBe(0);
      expect(jar.verdicts.length).toBeGreaterThan(0);
      expect(jar.verdicts.every((v) => v.cause === 'transmission' && v.expected)).toBe(true);
      expect(chromium.verdicts).toEqual(jar.verdicts);
      expect(chromium.code).toBe(0);
      expect(jar.code).toBe(0);
    });
  }

  test('a run too large for real browsers is refused as bad input (exit 2), before a cluster starts', async () => {
    const result = await runCli(['run', 'login-browse', '--users', '100', '--client', 'chromium']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('client chromium: expected at most 64');
  });

  test('on an http site, a POST is a fetch() Chromium lets through, as the first request and after a page with a script; the site sees only the requests made', async () => {
    const seen: string[] = [];
    const site = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.cookie ?? '-'}`);
      if (req.url === '/login') res.setHeader('set-cookie', 'sid=abc; Path=/; HttpOnly');
      res.setHeader('content-type', 'text/html; charset=utf-8');
      req.resume();
      req.on('end', () => res.end('<!doctype html><script>void 0</script><p>page</p>'));
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const clients = await startChromiumClients({ hostname: 'shop.example.test', httpPort: (site.address() as AddressInfo).port, httpsPort: undefined, ca: undefined });
    try {
      const user = await clients.open();
      const login = await user.send({ method: 'POST', url: 'http://shop.example.test/login', body: '{}', headers: { 'content-type': 'application/json' } });
      expect(login.error).toBeUndefined();
      expect(login.status).toBe(200);
      expect(user.cookieValue('sid')).toBe('abc');
      expect((await user.send({ method: 'GET', url: 'http://shop.example.test/page' })).status).toBe(200);
      const again = await user.send({ method: 'POST', url: 'http://shop.example.test/save', body: 'x' });
      expect(again.error).toBeUndefined();
      expect(again.status).toBe(200);
      expect(seen).toEqual(['POST /login -', 'GET /page sid=abc', 'POST /save sid=abc']);
      await user.close();
    } finally {
      await clients.stop();
      site.closeAllConnections();
      await new Promise((resolve) => site.close(resolve));
    }
  });
});
