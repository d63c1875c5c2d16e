/** The recording tap on its own: what it records, and that it stands for its backend when that is down or restarted. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, test } from 'vitest';
import type { BalancerTarget } from '../../harness/balancer/strategy.js';
import type { TapRecord } from '../../harness/history/history.js';
import { startTap } from '../../harness/tap/tap.js';
import { timeoutBudgetMs } from '../../harness/util/budget.js';
import { pollUntil } from '../../harness/util/wait.js';

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

async function backend(name: string): Promise<string> {
  const server = createServer((req, res) => {
    res.setHeader('set-cookie', [`from=${name}; Path=/`, 'second=2; Path=/']);
    res.setHeader('x-backend', name);
    res.end(`${name} saw cookie ${req.headers.cookie ?? '-'}`);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const refused = (url: string) =>
  fetch(url).then(
    () => undefined,
    (error: Error & { cause?: { code?: string } }) => (error.cause?.code === 'ECONNREFUSED' ? true : undefined),
  );

describe('recording tap', () => {
  test('passes requests through unchanged and records what the backend received and returned, by request id', async () => {
    const target: BalancerTarget = { name: 'app-1', url: await backend('app-1'), index: 0, up: true, inFlight: 0 };
    const records: TapRecord[] = [];
    const tap = await startTap({ target, onRecord: (r) => records.push(r) });
    try {
      const response = await fetch(`${tap.url}/drafts?x=1`, {
        headers: { cookie: 'sid=abc; csrf=t', 'x-slab-request-id': 'r1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example.test' },
      });
      expect(await response.text()).toBe('app-1 saw cookie sid=abc; csrf=t');
      expect(response.headers.getSetCookie()).toEqual(['from=app-1; Path=/', 'second=2; Path=/']);
      expect(records).toEqual([
        expect.objectContaining({
          requestId: 'r1',
          backend: 'app-1',
          method: 'GET',
          path: '/drafts?x=1',
          host: new URL(tap.url).host,
          forwardedHost: 'shop.example.test',
          cookie: 'sid=abc; csrf=t',
          forwardedProto: 'https',
          status: 200,
          setCookie: ['from=app-1; Path=/', 'second=2; Path=/'],
        }),
      ]);
    } finally {
      await tap.stop();
    }
  });

  test('closes its port while the backend is down and reopens the same port for the restarted backend', async () => {
    const target: BalancerTarget = { name: 'app-1', url: await backend('app-1'), index: 0, up: true, inFlight: 0 };
    const tap = await startTap({ target, onRecord: () => {} });
    try {
      target.up = false;
      expect(await pollUntil(() => refused(tap.url), { timeoutMs: timeoutBudgetMs(), what: 'the tap to close its port' })).toBe(true);
      target.url = await backend('app-1-restarted');
      target.up = true;
      const body = await pollUntil(
        () =>
          fetch(tap.url).then(
            (r) => r.text(),
            () => undefined,
          ),
        { timeoutMs: timeoutBudgetMs(), what: 'the tap to listen again' },
      );
      expect(body).toBe('app-1-restarted saw cookie -');
    } finally {
      await tap.stop();
    }
    expect(await refused(tap.url)).toBe(true);
  });
});
