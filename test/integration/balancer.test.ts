/**
 * The balancer against plain node:http backends it forwards to: one suite,
 * run once per forwarding engine, so undici and http-proxy are held to the
 * same behaviour.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, test } from 'vitest';
import { makeCertificate } from '../../harness/balancer/certificate.js';
import { ENGINE_NAMES, type EngineName } from '../../harness/balancer/engine/engine.js';
import { REQUEST_ID_HEADER, startBalancer, type ProxyRecord, type StartBalancerOptions, type StartedBalancer } from '../../harness/balancer/proxy.js';
import { createStrategy } from '../../harness/balancer/strategies.js';
import type { BalancerTarget, BalancingStrategy } from '../../harness/balancer/strategy.js';
import { STICKY_COOKIE } from '../../harness/balancer/sticky-cookie.js';
import { parseFault } from '../../harness/fault/faults.js';
import { pollUntil } from '../../harness/util/wait.js';
import { closedPort } from '../helpers/ports.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The default backend: echoes what it received (method, path, headers, body digest) and sets two cookies. */
const echo =
  (name: string): Handler =>
  (req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    req.on('end', () => {
      res.setHeader('set-cookie', [`from=${name}; Path=/`, 'second=2; Path=/']);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name, method: req.method, path: req.url, headers: req.headers, bytes, sha256: hash.digest('hex') }));
    });
  };

interface Backend {
  name: string;
  url: string;
  server: Server;
  connections: number;
  requests: IncomingMessage[];
}

async function backend(name: string, handler: Handler = echo(name)): Promise<Backend> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  const started: Backend = { name, url: '', server, connections: 0, requests };
  server.on('connection', () => started.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
  started.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return started;
}

const targetsOf = (...backends: { name: string; url: string }[]): BalancerTarget[] => backends.map((b, index) => ({ name: b.name, url: b.url, index, up: true, inFlight: 0 }));

/** Sends raw HTTP (headers undici refuses to send) and reads until the balancer closes the connection. */
async function raw(port: number, text: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.write(text);
  let out = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => (out += chunk));
  await new Promise<void>((resolve, reject) => socket.on('end', resolve).on('error', reject));
  socket.destroy();
  return out;
}

function parseRaw(text: string): { status: number; headers: Map<string, string[]>; body: string } {
  const end = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  let body = text.slice(end + 4);
  if (headers.get('transfer-encoding')?.[0] === 'chunked') {
    let decoded = '';
    for (let at = 0; ;) {
      const lineEnd = body.indexOf('\r\n', at);
      const size = parseInt(body.slice(at, lineEnd), 16);
      if (!size) break;
      decoded += body.slice(lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
    body = decoded;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

describe.each(ENGINE_NAMES)('balancer on the %s engine', (engine: EngineName) => {
  async function balancer(options: Partial<StartBalancerOptions> & { targets: BalancerTarget[] }): Promise<{ balancer: StartedBalancer; records: ProxyRecord[] }> {
    const records: ProxyRecord[] = [];
    const started = await startBalancer({ strategy: createStrategy('round-robin'), onRecord: (r) => records.push(r), engine, ...options });
    cleanups.push(() => started.stop());
    expect(started.engine).toBe(engine);
    return { balancer: started, records };
  }

  test('records cookie in, cookie out, every Set-Cookie and the backend, per request id', async () => {
    const a = await backend('app-1');
    const b = await backend('app-2');
    const { balancer: front, records } = await balancer({ targets: targetsOf(a, b) });
    for (const id of ['r1', 'r2']) {
      const response = await request(`${front.url}/x?q=1`, { headers: { cookie: 'sid=abc', [REQUEST_ID_HEADER]: id } });
      expect(response.headers['set-cookie']).toEqual([expect.stringContaining('from='), 'second=2; Path=/']);
      const body = (await response.body.json()) as { path: string; headers: Record<string, string> };
      expect(body.path).toBe('/x?q=1');
      expect(body.headers.cookie).toBe('sid=abc');
    }
    expect(records.map((r) => [r.requestId, r.backend, r.cookieIn, r.cookieOut, r.status, r.path])).toEqual([
      ['r1', 'app-1', 'sid=abc', 'sid=abc', 200, '/x?q=1'],
      ['r2', 'app-2', 'sid=abc', 'sid=abc', 200, '/x?q=1'],
    ]);
    expect(records[0].setCookie).toEqual(['from=app-1; Path=/', 'second=2; Path=/']);
    expect(records[0].setCookieOut).toEqual(['from=app-1; Path=/', 'second=2; Path=/']);
    expect(records[0].faults).toEqual([]);
  });

  test('reuses backend connections (keep-alive) instead of one per request', async () => {
    const a = await backend('app-1');
    const { balancer: front } = await balancer({ targets: targetsOf(a) });
    for (let i = 0; i < 50; i++) await (await request(`${front.url}/`)).body.text();
    expect(a.connections).toBeLessThanOrEqual(2);
  });

  test('an unreachable backend is a 502 with the error recorded, and the backend is taken out', async () => {
    const targets = targetsOf({ name: 'app-1', url: `http://127.0.0.1:${await closedPort()}` });
    const { balancer: front, records } = await balancer({ targets });
    const response = await request(`${front.url}/`);
    expect(response.statusCode).toBe(502);
    expect(await response.body.json()).toEqual({ error: 'balancer: backend unreachable (ECONNREFUSED)' });
    expect(records[0]).toMatchObject({ backend: 'app-1', status: 502, error: 'ECONNREFUSED' });
    expect(targets[0]).toMatchObject({ up: false, inFlight: 0 });
    // With nothing up, the balancer answers itself.
    const next = await request(`${front.url}/`);
    expect(next.statusCode).toBe(503);
    await next.body.text();
  });

  test('a refusal from a process a restart has already replaced does not take the new one out', async () => {
    const fresh = await backend('app-1');
    const targets = targetsOf({ name: 'app-1', url: `http://127.0.0.1:${await closedPort()}` });
    // The restart swaps the target to its new process while this request is on its way to the old one.
    const swapping: BalancingStrategy = {
      name: 'swap-after-pick',
      pick: (_req, up) => {
        queueMicrotask(() => (up[0].url = fresh.url));
        return { target: up[0] };
      },
    };
    const { balancer: front, records } = await balancer({ targets, strategy: swapping });
    const response = await request(`${front.url}/`);
    expect(response.statusCode).toBe(502);
    await response.body.text();
    expect(records[0]).toMatchObject({ backend: 'app-1', error: 'ECONNREFUSED' });
    expect(targets[0].up).toBe(true);
  });

  test('a backend that closes the connection without answering is a 502', async () => {
    const a = await backend('app-1', (req) => req.socket.destroy());
    const { balancer: front, records } = await balancer({ targets: targetsOf(a) });
    const response = await request(`${front.url}/`);
    expect(response.statusCode).toBe(502);
    await response.body.text();
    expect(records[0]).toMatchObject({ backend: 'app-1', status: 502, error: 'ECONNRESET' });
  });

  test('a backend that dies mid-response: the client sees the body cut short, the record says so', async () => {
    const a = await backend('app-1', (req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write('x'.repeat(1000), () => setImmediate(() => req.socket.destroy()));
    });
    const targets = targetsOf(a);
    const { balancer: front, records } = await balancer({ targets });
    const response = await request(`${front.url}/`);
    expect(response.statusCode).toBe(200);
    await expect(response.body.text()).rejects.toThrow();
    const record = await pollUntil(async () => records[0], { what: 'the record' });
    expect(record).toMatchObject({ backend: 'app-1', status: 200, error: 'ECONNRESET' });
    expect(targets[0].inFlight).toBe(0);
  });

  test('hop-by-hop headers stop at the balancer, both ways', async () => {
    const a = await backend('app-1', (req, res) => {
      res.setHeader('connection', 'keep-alive, x-backend-private');
      res.setHeader('x-backend-private', 'for the balancer only');
      res.setHeader('keep-alive', 'timeout=77');
      res.setHeader('x-backend-public', 'yes');
      res.end(JSON.stringify(req.headers));
    });
    const { balancer: front } = await balancer({ targets: targetsOf(a) });
    const answer = parseRaw(
      await raw(
        front.httpPort,
        'GET /hop HTTP/1.1\r\nHost: shop.example.test\r\nConnection: close, x-client-private\r\nX-Client-Private: 1\r\n' +
          'Keep-Alive: timeout=99\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\nTE: trailers\r\nX-Client-Public: 1\r\n\r\n',
      ),
    );
    expect(answer.status).toBe(200);
    const seen = JSON.parse(answer.body) as Record<string, string>;
    expect(seen['x-client-public']).toBe('1');
    expect(seen.host).toBe('shop.example.test');
    for (const name of ['x-client-private', 'proxy-connection', 'proxy-authorization', 'te']) expect(seen).not.toHaveProperty(name);
    expect(seen['keep-alive']).toBeUndefined();
    expect(answer.headers.get('x-backend-public')).toEqual(['yes']);
    expect(answer.headers.has('x-backend-private')).toBe(false);
    expect(answer.headers.get('keep-alive') ?? []).not.toContain('timeout=77');
  });

  test("X-Forwarded-For/-Proto/-Host are the balancer's, overwriting what the client sent", async () => {
    const a = await backend('app-1');
    const { balancer: front, records } = await balancer({ targets: targetsOf(a) });
    const response = await request(`${front.url}/`, {
      headers: {
        host: 'shop.example.test',
        'x-forwarded-proto': 'https',
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-port': '8443',
        forwarded: 'for=203.0.113.9;proto=https',
      },
    });
    const { headers } = (await response.body.json()) as { headers: Record<string, string> };
    expect(headers).toMatchObject({ 'x-forwarded-proto': 'http', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-host': 'shop.example.test', 'x-forwarded-port': '80' });
    expect(headers).not.toHaveProperty('forwarded');
    expect(records[0].forwardedProto).toBe('http');
  });

  test('an https front: TLS ends at the balancer, the backend is told https', async () => {
    const a = await backend('app-1');
    const tls = await makeCertificate(['shop.example.test']);
    const { balancer: front, records } = await balancer({ targets: targetsOf(a), tls });
    expect(front.httpsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const dispatcher = new Agent({ connect: { ca: tls.cert } });
    cleanups.push(() => dispatcher.close());
    const response = await request(`${front.httpsUrl}/secure`, { dispatcher, headers: { 'x-forwarded-proto': 'http' } });
    const { headers } = (await response.body.json()) as { headers: Record<string, string> };
    expect(headers['x-forwarded-proto']).toBe('https');
    expect(records[0]).toMatchObject({ scheme: 'https', forwardedProto: 'https', status: 200, path: '/secure' });
  });

  test('a request body streams to the backend: its first part arrives before the client sends the rest', async () => {
    const firstPartSeen: { at?: number } = {};
    const a = await backend('app-1', (req, res) => {
      req.once('data', () => (firstPartSeen.at = Date.now()));
      echo('app-1')(req, res);
    });
    const { balancer: front, records } = await balancer({ targets: targetsOf(a) });
    const part = Buffer.alloc(64 * 1024, 'a');
    const socket: Socket = connect(front.httpPort, '127.0.0.1');
    let out = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (out += chunk));
    const closed = new Promise<void>((resolve, reject) => socket.on('end', resolve).on('error', reject));
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n${part.length.toString(16)}\r\n`);
    socket.write(part);
    socket.write('\r\n');
    await pollUntil(async () => firstPartSeen.at, { what: 'the first part at the backend' });
    for (let i = 0; i < 15; i++) socket.write(Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]));
    socket.write('0\r\n\r\n');
    await closed;
    const answer = parseRaw(out);
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body) as { bytes: number; sha256: string; method: string };
    expect(body).toMatchObject({
      method: 'POST',
      bytes: 16 * part.length,
      sha256: createHash('sha256')
        .update(Buffer.concat(Array(16).fill(part)))
        .digest('hex'),
    });
    expect(records[0]).toMatchObject({ method: 'POST', status: 200 });
  });

  test('a body with Content-Length arrives whole', async () => {
    const a = await backend('app-1');
    const { balancer: front } = await balancer({ targets: targetsOf(a) });
    const payload = JSON.stringify({ user: 'alice', password: 'alice-pw', pad: 'p'.repeat(100_000) });
    const response = await request(`${front.url}/login`, { method: 'POST', body: payload, headers: { 'content-type': 'application/json' } });
    const body = (await response.body.json()) as { bytes: number; sha256: string; headers: Record<string, string> };
    expect(body.bytes).toBe(Buffer.byteLength(payload));
    expect(body.sha256).toBe(createHash('sha256').update(payload).digest('hex'));
    expect(body.headers['content-length']).toBe(String(Buffer.byteLength(payload)));
  });

  test('a client that goes away: recorded as 499, the backend request ended, nothing left in flight', async () => {
    const a = await backend('app-1', () => {
      // Never answers: the client gives up first.
    });
    const targets = targetsOf(a);
    const { balancer: front, records } = await balancer({ targets });
    const socket = connect(front.httpPort, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    const atBackend = await pollUntil(async () => a.requests[0], { what: 'the request at the backend' });
    let backendSawClose = false;
    atBackend.socket.once('close', () => (backendSawClose = true));
    expect(targets[0].inFlight).toBe(1);
    socket.destroy();
    const record = await pollUntil(async () => records[0], { what: 'the record' });
    expect(record).toMatchObject({ backend: 'app-1', status: 499, error: 'client closed the connection' });
    expect(targets[0].inFlight).toBe(0);
    await pollUntil(async () => backendSawClose || undefined, { what: 'the backend request to end' });
  });

  test('a WebSocket upgrade is refused with 501, recorded, never forwarded', async () => {
    const a = await backend('app-1');
    const { balancer: front, records } = await balancer({ targets: targetsOf(a) });
    const answer = parseRaw(
      await raw(front.httpPort, 'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'),
    );
    expect(answer.status).toBe(501);
    expect(JSON.parse(answer.body).error).toMatch(/WebSocket/);
    expect(records).toMatchObject([{ path: '/chat', status: 501, backend: undefined }]);
    expect(a.requests).toEqual([]);
  });

  test('cookie faults act on the request, the forwarded request and the response, and are recorded', async () => {
    const a = await backend('app-1');
    const faults = ['drop-cookie=sid', 'drop-forwarded-proto', 'merge-set-cookie'].map((spec) => parseFault(spec));
    const { balancer: front, records } = await balancer({ targets: targetsOf(a), faults });
    const response = await request(`${front.url}/`, { headers: { cookie: 'sid=abc; theme=dark' } });
    expect(response.headers['set-cookie']).toBe('from=app-1; Path=/, second=2; Path=/');
    const { headers } = (await response.body.json()) as { headers: Record<string, string> };
    expect(headers.cookie).toBe('theme=dark');
    expect(headers).not.toHaveProperty('x-forwarded-proto');
    expect(records[0]).toMatchObject({
      cookieIn: 'sid=abc; theme=dark',
      cookieOut: 'theme=dark',
      forwardedProto: undefined,
      setCookie: ['from=app-1; Path=/', 'second=2; Path=/'],
      setCookieOut: ['from=app-1; Path=/, second=2; Path=/'],
    });
    expect(records[0].faults.map((f) => f.fault)).toEqual(['drop-cookie=sid', 'drop-forwarded-proto', 'merge-set-cookie']);
  });

  test('a fault that refuses the request answers for the backend, which never sees it', async () => {
    const a = await backend('app-1');
    const { balancer: front, records } = await balancer({ targets: targetsOf(a), faults: [parseFault('cap-cookie=10:431'), parseFault('strip-set-cookie')] });
    const response = await request(`${front.url}/`, { headers: { cookie: `big=${'x'.repeat(100)}` } });
    expect(response.statusCode).toBe(431);
    await response.body.text();
    expect(a.requests).toEqual([]);
    expect(records[0]).toMatchObject({ status: 431, backend: undefined, faults: [{ fault: 'cap-cookie=10:431' }] });
  });

  test('sticky: the balancer pins with its own cookie and does not forward it', async () => {
    const a = await backend('app-1');
    const b = await backend('app-2');
    const { balancer: front, records } = await balancer({ targets: targetsOf(a, b), strategy: createStrategy('sticky') });
    const first = await request(`${front.url}/`);
    const pin = (first.headers['set-cookie'] as string[]).find((c) => c.startsWith(`${STICKY_COOKIE}=`))!;
    expect(pin).toMatch(new RegExp(`^${STICKY_COOKIE}=app-1;`));
    expect(first.headers['cache-control']).toBe('private');
    await first.body.text();
    for (let i = 0; i < 3; i++) {
      const next = await request(`${front.url}/`, { headers: { cookie: `${pin.split(';')[0]}; sid=s` } });
      const body = (await next.body.json()) as { name: string; headers: Record<string, string> };
      expect(body.name).toBe('app-1');
      expect(body.headers.cookie).toBe('sid=s');
    }
    expect(records.map((r) => r.pin)).toEqual(['new', 'kept', 'kept', 'kept']);
  });

  test('stop is idempotent', async () => {
    const started = await startBalancer({ targets: targetsOf({ name: 'x', url: 'http://127.0.0.1:9' }), strategy: createStrategy('round-robin'), onRecord: () => {}, engine });
    await Promise.all([started.stop(), started.stop()]);
    await started.stop();
  });
});
