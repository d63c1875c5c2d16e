/** The balancer against plain node:http backends it forwards to. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, test } from 'vitest';
import { REQUEST_ID_HEADER, startBalancer, type ProxyRecord } from '../../harness/balancer/proxy.js';
import { createStrategy } from '../../harness/balancer/strategies.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => (s.closeAllConnections(), s.close(resolve)))));
});

/** A backend that counts its TCP connections and echoes the Cookie header it got. */
async function backend(name: string) {
  const stats = { connections: 0 };
  const server = createServer((req, res) => {
    res.setHeader('set-cookie', [`from=${name}; Path=/`, 'second=2; Path=/']);
    res.end(JSON.stringify({ name, cookie: req.headers.cookie ?? null }));
  });
  server.on('connection', () => stats.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { name, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats };
}

describe('balancer', () => {
  test('records cookie in, cookie out, every Set-Cookie and the backend, per request id', async () => {
    const a = await backend('app-1');
    const b = await backend('app-2');
    const records: ProxyRecord[] = [];
    const balancer = await startBalancer({
      targets: [a, b].map((t, index) => ({ name: t.name, url: t.url, index, up: true, inFlight: 0 })),
      strategy: createStrategy('round-robin'),
      onRecord: (r) => records.push(r),
    });
    try {
      for (const id of ['r1', 'r2']) {
        const response = await request(`${balancer.url}/x`, { headers: { cookie: 'sid=abc', [REQUEST_ID_HEADER]: id } });
        expect(response.headers['set-cookie']).toEqual([expect.stringContaining('from='), 'second=2; Path=/']);
        await response.body.text();
      }
      expect(records.map((r) => [r.requestId, r.backend, r.cookieIn, r.cookieOut, r.status])).toEqual([
        ['r1', 'app-1', 'sid=abc', 'sid=abc', 200],
        ['r2', 'app-2', 'sid=abc', 'sid=abc', 200],
      ]);
      expect(records[0].setCookie).toEqual(['from=app-1; Path=/', 'second=2; Path=/']);
    } finally {
      await balancer.stop();
    }
  });

  test('reuses backend connections (keep-alive agent) instead of one per request', async () => {
    const a = await backend('app-1');
    const balancer = await startBalancer({
      targets: [{ name: a.name, url: a.url, index: 0, up: true, inFlight: 0 }],
      strategy: createStrategy('round-robin'),
      onRecord: () => {},
    });
    try {
      for (let i = 0; i < 50; i++) await (await request(`${balancer.url}/`)).body.text();
      expect(a.stats.connections).toBeLessThanOrEqual(2);
    } finally {
      await balancer.stop();
    }
  });

  test('an unreachable backend is a 502 with the error recorded, not a crash', async () => {
    const a = await backend('app-1');
    const url = a.url;
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const records: ProxyRecord[] = [];
    const balancer = await startBalancer({ targets: [{ name: 'app-1', url, index: 0, up: true, inFlight: 0 }], strategy: createStrategy('round-robin'), onRecord: (r) => records.push(r) });
    try {
      const response = await request(`${balancer.url}/`);
      expect(response.statusCode).toBe(502);
      await response.body.text();
      expect(records[0]).toMatchObject({ backend: 'app-1', status: 502, error: 'ECONNREFUSED' });
    } finally {
      await balancer.stop();
    }
  });

  test('stop is idempotent', async () => {
    const balancer = await startBalancer({ targets: [{ name: 'x', url: 'http://127.0.0.1:9', index: 0, up: true, inFlight: 0 }], strategy: createStrategy('round-robin'), onRecord: () => {} });
    await Promise.all([balancer.stop(), balancer.stop()]);
    await balancer.stop();
  });
});
