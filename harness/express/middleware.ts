/**
 * `session-lab/express`: one line that lets an Express app report its
 * sessions to session-lab, so its verdicts are white-box (the backend's own
 * view) instead of read off the wire.
 *
 *   import { withSessionStatus } from 'session-lab/express';
 *   app.use(withSessionStatus(session({ secret, store })));      // instead of app.use(session(...))
 *
 * Every response then carries the X-Session-* protocol (README, "Testing
 * your own app"):
 *
 *   X-Backend          the replica's name (BACKEND_ID, which session-lab sets)
 *   X-Session-Status   none | created | loaded | unknown-id | destroyed
 *   X-Session-Id-Hash  8 hex digits of SHA-256 of the session cookie's value the client now holds
 *   X-Session-User     who is logged in (req.session.user unless `user` says otherwise)
 *   X-Session-Cookie   sent | cleared | withheld-insecure | none
 *
 * It wraps express-session instead of following it so that it sees the
 * Set-Cookie header express-session writes at the last moment (its header
 * hook runs before ours), and the id as loaded before a handler may
 * regenerate it. Never the id itself: only its hash leaves the process.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SessionStatusOptions {
  /** The session cookie's name (express-session's `name`; default connect.sid). */
  cookieName?: string;
  /** The replica's name in X-Backend (default: the BACKEND_ID environment variable). */
  backend?: string;
  /** Who is logged in, from the request (default: req.session.user). */
  user?: (req: SessionRequest) => unknown;
}

/** The parts of an Express request with express-session that this reads. */
export interface SessionRequest extends IncomingMessage {
  session?: { cookie?: { secure?: boolean | 'auto' }; [key: string]: unknown };
  sessionID?: string;
  secure?: boolean;
}

type Next = (error?: unknown) => void;
type Middleware = (req: SessionRequest, res: ServerResponse, next: Next) => void;

/** What logs and reports show instead of an id (as session-lab's own servers). */
export function sessionIdHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8);
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function cookieFrom(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return decode(pair.slice(eq + 1).trim());
  }
  return undefined;
}

/** The session cookie a Set-Cookie header list sets: its value, or null when it clears it. */
function issuedBy(setCookie: number | string | string[] | undefined, name: string): string | null | undefined {
  const headers = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [String(setCookie)];
  let found: string | null | undefined;
  for (const header of headers) {
    const [pair, ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const value = decode(pair.slice(eq + 1).trim());
    const expired = attributes.some((a) => {
      const [key, v = ''] = a.trim().split('=');
      if (key.toLowerCase() === 'max-age') return Number(v) <= 0;
      if (key.toLowerCase() === 'expires') return Date.parse(v) <= Date.now();
      return false;
    });
    found = value === '' || expired ? null : value;
  }
  return found;
}

/** express-session's signed value `s:ID.signature` → ID (an unsigned value is the id itself). */
function unsignedId(value: string): string {
  return value.startsWith('s:') && value.lastIndexOf('.') > 2 ? value.slice(2, value.lastIndexOf('.')) : value;
}

export function withSessionStatus(sessionMiddleware: Middleware, options: SessionStatusOptions = {}): Middleware {
  const name = options.cookieName ?? 'connect.sid';
  const userOf = options.user ?? ((req: SessionRequest) => req.session?.user);
  return (req, res, next) => {
    const backend = options.backend ?? process.env.BACKEND_ID;
    const incoming = cookieFrom(req.headers.cookie, name);
    let status: 'none' | 'loaded' | 'unknown-id' = incoming === undefined ? 'none' : 'unknown-id';
    let hadSession = false;
    const writeHead = res.writeHead;
    // Installed before express-session's own hook, so it runs after it: the cookie is set by now.
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      if (!res.headersSent) {
        const issued = issuedBy(res.getHeader('set-cookie'), name);
        const destroyed = hadSession && req.session === undefined;
        const reported = destroyed ? 'destroyed' : status === 'none' && issued ? 'created' : status;
        const holds = issued === null || destroyed ? undefined : (issued ?? (status === 'loaded' ? incoming : undefined));
        if (backend) res.setHeader('x-backend', backend);
        res.setHeader('x-session-status', reported);
        if (holds) res.setHeader('x-session-id-hash', sessionIdHash(holds));
        const user = req.session ? userOf(req) : undefined;
        if (typeof user === 'string' && user) res.setHeader('x-session-user', user);
        const withheld = !issued && req.session?.cookie?.secure === true && !req.secure && status !== 'loaded';
        res.setHeader('x-session-cookie', issued ? 'sent' : issued === null ? 'cleared' : withheld ? 'withheld-insecure' : 'none');
      }
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as typeof res.writeHead;
    sessionMiddleware(req, res, (error?: unknown) => {
      hadSession = req.session !== undefined;
      // The id express-session loaded is the one the cookie carried: the store had it and the signature held.
      if (incoming !== undefined && req.sessionID !== undefined && unsignedId(incoming) === req.sessionID) status = 'loaded';
      next(error);
    });
  };
}
