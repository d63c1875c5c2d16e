/**
 * The balancer: an http-proxy server on 127.0.0.1 port 0 (and, for an
 * https front, a second listener with TLS terminated here) that picks a
 * backend per request through a BalancingStrategy, applies the run's
 * cookie faults, and records what it saw.
 *
 *   client ──▶ balancer (this file) ──▶ app-N
 *
 * Per request it records the Cookie header received and the one forwarded,
 * the Set-Cookie headers returned by the backend and those passed on, the
 * X-Forwarded-Proto sent, the faults that acted, and the status; joined to
 * the client's own record by the X-Slab-Request-Id header.
 */
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';
import { HarnessError } from '../errors.js';
import type { CookieFault, FaultAction } from '../fault/fault.js';
import { setCookieList } from '../util/cookie-header.js';
import type { BalancerTarget, BalancingStrategy, Choice } from './strategy.js';

export const REQUEST_ID_HEADER = 'x-slab-request-id';

export interface FaultNote {
  fault: string;
  note: string;
}

export interface ProxyRecord {
  /** Epoch ms when the balancer received the request. */
  time: number;
  requestId: string | undefined;
  method: string;
  path: string;
  /** http or https: the listener the request came in on. */
  scheme: 'http' | 'https';
  /** The backend chosen; undefined when a fault rejected the request first, or none was up. */
  backend: string | undefined;
  /** The client's address as the balancer saw it. */
  clientAddress: string | undefined;
  /** Sticky strategies: kept, new or re-pinned, and the backend pinned before a re-pin. */
  pin?: 'kept' | 'new' | 'repinned';
  pinnedBefore?: string;
  /** Cookie header as received from the client. */
  cookieIn: string | undefined;
  /** Cookie header as forwarded to the backend. */
  cookieOut: string | undefined;
  /** X-Forwarded-Proto as forwarded to the backend. */
  forwardedProto: string | undefined;
  /** Set-Cookie headers as returned by the backend. */
  setCookie: string[];
  /** Set-Cookie headers as passed on to the client. */
  setCookieOut: string[];
  /** Faults that acted on this request, with what they did. */
  faults: FaultNote[];
  status: number;
  durationMs: number;
  /** Set when the backend could not be reached. */
  error?: string;
  /**
   * Read off a black-box balancer's two sides (the client's record and the
   * backend's tap, harness/tap/join.ts) rather than recorded by session-lab's
   * own balancer: it chose no pin and applied no fault of session-lab's.
   */
  fromTap?: boolean;
}

export interface TlsMaterial {
  key: string;
  cert: string;
}

export interface StartedBalancer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly httpPort: number;
  /** https://127.0.0.1:PORT, when started with TLS. */
  readonly httpsUrl: string | undefined;
  readonly httpsPort: number | undefined;
  readonly strategy: BalancingStrategy;
  stop(): Promise<void>;
}

export interface StartBalancerOptions {
  targets: readonly BalancerTarget[];
  strategy: BalancingStrategy;
  onRecord: (record: ProxyRecord) => void;
  faults?: readonly CookieFault[];
  /** Also listen on https with this key and certificate. */
  tls?: TlsMaterial;
  /** Picks whether a fault acts on a request; Math.random unless given. */
  random?: () => number;
}

interface InFlight {
  record: ProxyRecord;
  started: bigint;
  faults: CookieFault[];
  choice?: Choice;
}

async function listen(server: Server, what: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new HarnessError('SLAB_ERR_LISTEN', `balancer: cannot listen on 127.0.0.1 (${what}): ${error.message}`, { cause: error })),
    );
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Headers the balancer sets itself, dropped from the client's request first. */
const FORWARDED_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'forwarded'];

export async function startBalancer({ targets, strategy, onRecord, faults = [], tls, random = Math.random }: StartBalancerOptions): Promise<StartedBalancer> {
  // Without a keep-alive agent http-proxy opens a new backend connection per
  // request: 3.3k vs 10.6k req/s measured on a 2-core machine.
  const agent = new Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 1000 });
  const proxy = httpProxy.createProxyServer({ agent, xfwd: true });
  const inFlight = new WeakMap<IncomingMessage, InFlight>();

  const apply = (entry: InFlight, act: (fault: CookieFault) => FaultAction | undefined): FaultAction | undefined => {
    let rejection: FaultAction | undefined;
    for (const fault of entry.faults) {
      const action = act(fault);
      if (!action) continue;
      entry.record.faults.push({ fault: fault.spec, note: action.note });
      if (action.reject) rejection ??= action;
    }
    return rejection;
  };

  const finish = (req: IncomingMessage, status: number, error?: string) => {
    const entry = inFlight.get(req);
    if (!entry) return;
    inFlight.delete(req);
    if (entry.choice) entry.choice.target.inFlight--;
    entry.record.status = status;
    entry.record.durationMs = Number(process.hrtime.bigint() - entry.started) / 1e6;
    if (error) entry.record.error = error;
    onRecord(entry.record);
  };

  proxy.on('proxyReq', (proxyReq, req) => {
    const entry = inFlight.get(req);
    if (!entry) return;
    if (entry.faults.length) apply(entry, (fault) => fault.onProxyRequest?.(proxyReq));
    entry.record.cookieOut = proxyReq.getHeader('cookie') as string | undefined;
    entry.record.forwardedProto = proxyReq.getHeader('x-forwarded-proto') as string | undefined;
  });

  proxy.on('proxyRes', (proxyRes, req) => {
    const entry = inFlight.get(req);
    if (entry) {
      entry.record.setCookie = setCookieList(proxyRes);
      // Response faults change the headers before http-proxy copies them to the client.
      if (entry.faults.length) apply(entry, (fault) => fault.onResponse?.(proxyRes));
      if (entry.choice && strategy.onResponse) strategy.onResponse(req, proxyRes, entry.choice);
      entry.record.setCookieOut = setCookieList(proxyRes);
    }
    proxyRes.once('end', () => finish(req, proxyRes.statusCode ?? 0));
  });

  proxy.on('error', (error, req, res) => {
    const message = (error as NodeJS.ErrnoException).code ?? error.message;
    // Passive health check: a refused connection means the backend is gone.
    const target = inFlight.get(req)?.choice?.target;
    if (target && message === 'ECONNREFUSED') target.up = false;
    finish(req, 502, message);
    const response = res as ServerResponse;
    if (!response.headersSent && typeof response.writeHead === 'function') {
      response.writeHead(502, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: `balancer: backend unreachable (${message})` }));
    } else {
      response.destroy?.();
    }
  });

  const handle = (scheme: 'http' | 'https') => (req: IncomingMessage, res: ServerResponse) => {
    // What a client claims about the hop before us is not to be believed: as
    // real balancers are configured, the X-Forwarded-* headers are set from
    // this connection (http-proxy's xfwd would append to the client's, and a
    // plain-http client sending "X-Forwarded-Proto: https" got a Secure cookie).
    for (const name of FORWARDED_HEADERS) delete req.headers[name];
    const entry: InFlight = {
      started: process.hrtime.bigint(),
      faults: faults.filter((fault) => fault.probability >= 1 || random() < fault.probability),
      record: {
        time: Date.now(),
        requestId: req.headers[REQUEST_ID_HEADER] as string | undefined,
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        scheme,
        backend: undefined,
        clientAddress: req.socket.remoteAddress,
        cookieIn: req.headers.cookie,
        cookieOut: undefined,
        forwardedProto: undefined,
        setCookie: [],
        setCookieOut: [],
        faults: [],
        status: 0,
        durationMs: 0,
      },
    };
    inFlight.set(req, entry);
    const rejection = entry.faults.length ? apply(entry, (fault) => fault.onRequest?.(req)) : undefined;
    if (rejection?.reject) {
      const body = JSON.stringify({ error: `balancer: ${rejection.reject.message}` });
      res.writeHead(rejection.reject.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
      finish(req, rejection.reject.status);
      return;
    }
    const up = targets.filter((target) => target.up);
    if (up.length === 0) {
      const body = JSON.stringify({ error: 'balancer: no backend is up' });
      res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      finish(req, 503, 'no backend up');
      return;
    }
    const choice = strategy.pick(req, up, targets);
    entry.choice = choice;
    choice.target.inFlight++;
    entry.record.backend = choice.target.name;
    if (choice.pin) entry.record.pin = choice.pin;
    if (choice.pinnedBefore) entry.record.pinnedBefore = choice.pinnedBefore;
    if (strategy.forwardCookie) {
      const cookie = strategy.forwardCookie(req.headers.cookie);
      if (cookie === undefined) delete req.headers.cookie;
      else req.headers.cookie = cookie;
    }
    proxy.web(req, res, { target: choice.target.url });
  };

  const servers: Server[] = [];
  const stop = () =>
    (stopping ??= Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    ).then(() => {
      proxy.close();
      agent.destroy();
    }));
  let stopping: Promise<void> | undefined;

  try {
    const http = createServer(handle('http'));
    http.keepAliveTimeout = 30_000;
    servers.push(http);
    const httpPort = await listen(http, 'http');
    let httpsPort: number | undefined;
    if (tls) {
      const https = createHttpsServer({ key: tls.key, cert: tls.cert }, handle('https'));
      https.keepAliveTimeout = 30_000;
      servers.push(https);
      httpsPort = await listen(https, 'https');
    }
    return {
      url: `http://127.0.0.1:${httpPort}`,
      httpPort,
      httpsUrl: httpsPort ? `https://127.0.0.1:${httpsPort}` : undefined,
      httpsPort,
      strategy,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
