/**
 * One reference app server, run by the harness as its own child process.
 *
 *   harness ──fork──▶ app-N (this file) ──▶ store (own memory | Redis)
 *
 * It listens on 127.0.0.1 port 0, tells its parent the port over IPC, and
 * exits as soon as that channel closes, so it never outlives the harness,
 * even when the harness is killed with SIGKILL. Between clusters the harness
 * may keep it warm: it ends its life and waits, idle, for the next config.
 *
 * Every response says which backend served it (X-Backend) and how that
 * backend saw the session (X-Session-Status, X-Session-User); every request
 * is one pino JSON line with a short hash of the session id, never the id.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { pino } from 'pino';
import { BACKEND_CONFIG_ENV, IDLE_LINE_PREFIX, SESSION_DEFAULTS, type BackendCommand, type BackendConfig, type ListeningMessage } from './config.js';
import { findRoute, type Reply } from './routes.js';
import { MemoryStore } from './session/memory-store.js';
import { SessionManager } from './session/session.js';
import { formatPosition } from './session/replication-config.js';
import { sessionIdHash } from './session/session-id.js';
import type { SessionStore } from './session/store.js';

const MAX_BODY_BYTES = 64 * 1024;

function readConfig(): BackendConfig {
  const raw = process.env[BACKEND_CONFIG_ENV];
  if (raw) return JSON.parse(raw) as BackendConfig;
  // Standalone (a container of docker/compose.yaml): the environment a foreign app gets.
  const store = process.env.SESSION_STORE ?? (process.env.REDIS_URL ? 'redis' : 'memory');
  if (store !== 'memory' && store !== 'redis') throw new Error(`SESSION_STORE: expected memory | redis, got ${JSON.stringify(store)}`);
  if (store === 'redis' && !process.env.REDIS_URL) throw new Error('SESSION_STORE=redis needs REDIS_URL (redis://HOST:PORT)');
  return { ...SESSION_DEFAULTS, name: process.env.BACKEND_ID ?? hostname(), store, redisUrl: process.env.REDIS_URL, keyPrefix: 'slab:', writes: 'whole' };
}

/**
 * Forked by the harness (an IPC channel): port 0 on loopback, the port told
 * over IPC, whatever PORT the harness's own environment has. Otherwise (a
 * container) PORT and HOST.
 */
function listenAddress(): { port: number; host: string } {
  if (process.send) return { port: 0, host: '127.0.0.1' };
  const port = Number(process.env.PORT ?? 0);
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new Error(`PORT: expected a port number, got ${JSON.stringify(process.env.PORT)}`);
  return { port, host: process.env.HOST ?? '127.0.0.1' };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even past the limit, keeping nothing: leaving the loop
  // early would destroy the request and its socket, and the 413 could not
  // be sent (it came back as a 503 from a null socket).
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_BODY_BYTES) throw Object.assign(new Error(`body of ${size} bytes is over the limit of ${MAX_BODY_BYTES}`), { status: 413 });
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw Object.assign(new Error('body is not JSON'), { status: 400 });
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const body = JSON.stringify(reply.body);
  res.statusCode = reply.status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

export function createApp(config: BackendConfig, store: SessionStore, log: pino.Logger) {
  const sessions = new SessionManager(store, {
    cookieName: config.cookieName,
    ttlMs: config.ttlMs,
    idleTimeoutMs: config.idleTimeoutMs,
    absoluteTimeoutMs: config.absoluteTimeoutMs,
    secureCookie: config.secureCookie,
    cookieMaxAgeMs: config.cookieMaxAgeMs,
    sameSite: config.sameSite,
    rolling: config.rolling,
    writes: config.writes,
  });

  /** Is this request https as this server sees it? Behind a TLS-terminating proxy only if it trusts the proxy. */
  const isSecure = (req: IncomingMessage): boolean => {
    if ((req.socket as { encrypted?: boolean }).encrypted) return true;
    if (!config.trustProxy) return false;
    const proto = req.headers['x-forwarded-proto'];
    return (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0].trim() === 'https';
  };

  return createServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader('x-backend', config.name);

    if (method === 'GET' && path === '/health') {
      send(res, { status: 200, body: { ok: true, backend: config.name } });
      return;
    }

    let statusForLog: string = 'none';
    let sid: string | undefined;
    // Decided once, while the socket is certainly there.
    const secure = isSecure(req);
    try {
      const route = findRoute(method, path);
      const now = Date.now();
      const session = await sessions.begin(req, now);
      let reply: Reply;
      if (!route) {
        session.ensure(now);
        reply = { status: 404, body: { error: `no route ${method} ${path}` } };
      } else {
        let body: unknown;
        try {
          body = await readBody(req);
        } catch (error) {
          body = undefined;
          session.ensure(now);
          reply = { status: (error as { status?: number }).status ?? 400, body: { error: (error as Error).message } };
        }
        reply ??= await route({ req, session, body, now, config, secure });
      }
      const commit = await session.commit(secure);
      const setCookies = [...(reply.setCookies ?? []), ...commit.setCookies];
      if (setCookies.length) res.setHeader('set-cookie', setCookies);
      res.setHeader('x-session-status', session.status);
      res.setHeader('x-session-write', commit.write);
      res.setHeader('x-session-cookie', commit.cookie);
      if (session.expiredBy) res.setHeader('x-session-expired', session.expiredBy);
      // What this backend measured and the limit it applied, so evidence quotes the server, not the scenario.
      if (session.expiredAfterMs !== undefined) res.setHeader('x-session-expired-after', String(Math.round(session.expiredAfterMs)));
      if (session.expiredLimitMs !== undefined) res.setHeader('x-session-expired-limit', String(session.expiredLimitMs));
      if (session.id) res.setHeader('x-session-id-hash', sessionIdHash(session.id));
      if (session.record?.user) res.setHeader('x-session-user', session.record.user);
      if (session.trace.read) res.setHeader('x-session-store-read', formatPosition({ ...session.trace.read }));
      if (session.trace.write) res.setHeader('x-session-store-write', formatPosition({ ...session.trace.write }));
      statusForLog = session.status;
      sid = session.id ?? session.incomingId;
      send(res, reply);
    } catch (error) {
      // The store failed (Redis down, say): the user sees a 503, the history a store error.
      res.setHeader('x-session-status', 'store-error');
      statusForLog = 'store-error';
      send(res, { status: 503, body: { error: `session store unavailable: ${(error as Error).message}` } });
    } finally {
      log.info({ method, path, status: res.statusCode, session: statusForLog, sid: sid === undefined ? undefined : sessionIdHash(sid) }, 'request');
    }
  });
}

/** One life of this process: a store, an app and a server, built from one config. */
interface Life {
  readonly port: number;
  /**
   * Closes the server and every connection, then the store (its Redis
   * connections), and mutes the life's logger: a request still finishing
   * afterwards (a cart delay, say) reaches only its closed store and writes
   * no line. Resolves true when all of it closed within `ms`.
   */
  end(ms: number): Promise<boolean>;
}

/** Resolves true if `work` settles within `ms`. */
function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const settled = () => {
      clearTimeout(timer);
      resolve(true);
    };
    work.then(settled, settled);
  });
}

async function startLife(config: BackendConfig, out: pino.DestinationStream, address: { port: number; host: string }): Promise<Life> {
  let muted = false;
  const log = pino({ base: { backend: config.name } }, { write: (line: string) => void (muted || out.write(line)) });
  // ioredis costs ~40 ms of start-up: load it only for the Redis store.
  const store: SessionStore = config.redisTopology
    ? (await import('./session/replicated-redis-store.js')).ReplicatedRedisStore.connect(config.redisTopology, config.keyPrefix)
    : config.store === 'redis'
      ? (await import('./session/redis-store.js')).RedisStore.connect(config.redisUrl ?? '', config.keyPrefix)
      : new MemoryStore();
  const server = createApp(config, store, log);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let ending: Promise<boolean> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    end: (ms) =>
      (ending ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        const serverClosed = await within(closed, ms);
        const storeClosed = await within(store.close(), ms);
        muted = true;
        return serverClosed && storeClosed;
      })()),
  };
}

/**
 * The process: one life from the config it was forked with (or, in a
 * container, from its environment), then, when the harness recycles it
 * between clusters (harness/backend/warm-pool.ts), further lives, each from
 * scratch. `recycle` ends the life and writes the idle line on stdout after
 * its last log line; `start` begins the next one and reports its port.
 */
async function main(): Promise<void> {
  // One stdout stream for every life, so the idle line follows the last log line of the life it ends.
  const out = pino.destination(1);
  const address = listenAddress();
  let life: Life | undefined;
  let lives = 0;

  let closing = false;
  const shutdown = (code: number) => {
    if (closing) return;
    closing = true;
    void (life?.end(500) ?? Promise.resolve()).finally(() => process.exit(code));
    setTimeout(() => process.exit(code), 500).unref();
  };
  const fail = (what: string, error?: unknown) => {
    process.stderr.write(`backend ${what}${error === undefined ? '' : `: ${(error as Error).stack ?? error}`}\n`);
    process.exitCode = 1;
    shutdown(1);
  };
  const begin = async (config: BackendConfig) => {
    lives++;
    life = await startLife(config, out, address);
    const message: ListeningMessage = { type: 'listening', port: life.port };
    process.send?.(message);
  };

  // The parent's IPC channel closes when the harness exits or dies: follow it, idle or not.
  process.on('disconnect', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  // One command at a time, in order; one the harness should never send ends the process.
  let commands = Promise.resolve();
  process.on('message', (command: BackendCommand) => {
    commands = commands.then(async () => {
      if (closing) return;
      if (command?.type === 'recycle' && life) {
        const ending = life;
        life = undefined;
        if (!(await ending.end(500))) return fail('could not close its server or store within 500 ms');
        out.write(`${IDLE_LINE_PREFIX}${lives}}\n`);
      } else if (command?.type === 'start' && !life) {
        // As a process forked with this config would have it.
        process.env[BACKEND_CONFIG_ENV] = JSON.stringify(command.config);
        await begin(command.config).catch((error: unknown) => fail('failed to start', error));
      } else {
        fail(`got ${JSON.stringify(command?.type)} while ${life ? 'running' : 'idle'}`);
      }
    });
  });

  await begin(readConfig());
}

if (process.env[BACKEND_CONFIG_ENV] || process.env.PORT) {
  main().catch((error) => {
    process.stderr.write(`backend failed to start: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
