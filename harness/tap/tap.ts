/**
 * The recording tap: a lean pass-through in front of one backend, so the
 * history knows what that backend received and returned whatever sits in
 * front of it (nginx, HAProxy, a black box).
 *
 *   client ──▶ balancer (nginx, HAProxy) ──▶ tap-N (this file) ──▶ app-N
 *
 * Per request it records the method, path, Host, Cookie and X-Forwarded-*
 * headers as they arrived, and the status and Set-Cookie headers the backend
 * returned, keyed by X-Slab-Request-Id so the runner joins it to the
 * client's record. The record is handed over when the backend's response
 * headers arrive, before the response goes on, so it is always there by the
 * time the client has its answer.
 *
 * The tap stands for its backend: while the backend is down (killed,
 * restarting, drained: `target.up` false) the tap stops listening, so the
 * balancer finds the port closed exactly as it would find the backend's,
 * and its own health checks and retries act as in production. When the
 * backend is back (a restart gives it a new port) the tap listens again on
 * its same port, the one in the balancer's config.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BalancerTarget } from '../balancer/strategy.js';
import { HarnessError } from '../errors.js';
import type { TapRecord } from '../history/history.js';
import { setCookieList } from '../util/cookie-header.js';

export const TAP_REQUEST_ID_HEADER = 'x-slab-request-id';

export interface StartTapOptions {
  /** The backend this tap stands in front of; its `url` and `up` are read as they change. */
  target: BalancerTarget;
  onRecord: (record: TapRecord) => void;
  /** How often the tap looks at `target.up` to open or close its port (ms). */
  watchIntervalMs?: number;
}

export interface StartedTap {
  readonly backend: string;
  /** http://127.0.0.1:PORT — what the balancer's config points at. */
  readonly url: string;
  readonly port: number;
  /** Whether the tap's port is open right now. */
  readonly listening: boolean;
  stop(): Promise<void>;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) are the tap's own business on each side.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  return out;
}

function rawResponseHeaders(res: IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(res.rawHeaders[i].toLowerCase())) out.push(res.rawHeaders[i], res.rawHeaders[i + 1]);
  }
  return out;
}

const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(', ') : value);

export async function startTap({ target, onRecord, watchIntervalMs = 25 }: StartTapOptions): Promise<StartedTap> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const record: TapRecord = {
      time: Date.now(),
      requestId: one(req.headers[TAP_REQUEST_ID_HEADER]),
      backend: target.name,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      host: req.headers.host,
      cookie: one(req.headers.cookie),
      forwardedProto: one(req.headers['x-forwarded-proto']),
      forwardedFor: one(req.headers['x-forwarded-for']),
      forwardedHost: one(req.headers['x-forwarded-host']),
      status: 0,
      setCookie: [],
      durationMs: 0,
    };
    const url = new URL(target.url);
    const upstream = request({
      host: url.hostname,
      port: url.port,
      method: req.method,
      path: req.url,
      headers: forwardable(req.headers),
      agent,
    });
    upstream.on('response', (backendRes) => {
      record.status = backendRes.statusCode ?? 0;
      record.setCookie = setCookieList(backendRes);
      record.durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      onRecord(record);
      res.writeHead(record.status, backendRes.statusMessage, rawResponseHeaders(backendRes));
      backendRes.pipe(res);
    });
    upstream.on('error', (error) => {
      // The backend went away mid-request: the balancer sees the connection
      // cut, as it would without the tap.
      record.error = (error as NodeJS.ErrnoException).code ?? error.message;
      record.durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      onRecord(record);
      res.destroy();
    });
    req.pipe(upstream);
  };

  const servers = new Set<Server>();
  let current: Server | undefined;
  let port = 0;
  let stopped = false;
  let switching: Promise<void> | undefined;

  const open = async (): Promise<void> => {
    const server = createServer({ maxHeaderSize: 64 * 1024 }, handle);
    server.keepAliveTimeout = 30_000;
    servers.add(server);
    server.once('close', () => servers.delete(server));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: Error) => {
      servers.delete(server);
      throw new HarnessError('SLAB_ERR_LISTEN', `tap for ${target.name}: cannot listen on 127.0.0.1:${port}: ${error.message}`, { cause: error });
    });
    port = (server.address() as AddressInfo).port;
    current = server;
  };
  const close = (server: Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });

  await open();

  // Mirror the backend: port closed while it is down, open again when it is back.
  const watch = setInterval(() => {
    // A closed listener's keep-alive connections would still carry requests: end each once idle.
    for (const server of servers) if (server !== current) server.closeIdleConnections();
    if (switching || stopped) return;
    if (!target.up && current) {
      const server = current;
      current = undefined;
      switching = close(server).finally(() => (switching = undefined));
    } else if (target.up && !current) {
      // The port may be taken meanwhile; the next tick tries again.
      switching = open()
        .catch(() => undefined)
        .finally(() => (switching = undefined));
    }
  }, watchIntervalMs);
  watch.unref();

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      stopped = true;
      clearInterval(watch);
      await switching;
      await Promise.all(
        [...servers].map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
      agent.destroy();
    })());

  return {
    backend: target.name,
    url: `http://127.0.0.1:${port}`,
    port,
    get listening() {
      return current !== undefined;
    },
    stop,
  };
}
