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
 *   X-Session-Rejected signature — with unknown-id: the cookie's signature failed (express-session
 *                      never asked the store for its id: the replica signs with another secret)
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
  /**
   * The store given to express-session, so a refused signature is reported from the first request
   * on (X-Session-Rejected); otherwise it is learnt from the first request that passes.
   */
  store?: object;
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

/** The store's `get`, counted per id: express-session asks the store only for an id whose signature held. */
interface CountedStore {
  get: (sid: string, callback: (...args: unknown[]) => void) => void;
  [LOOKUPS]?: Map<string, number>;
}
const LOOKUPS = Symbol('session-lab lookups');

function countLookups(store: CountedStore): Map<string, number> {
  if (store[LOOKUPS]) return store[LOOKUPS];
  const lookups = new Map<string, number>();
  const get = store.get;
  store.get = function (this: unknown, sid: string, callback: (...args: unknown[]) => void) {
    lookups.set(sid, (lookups.get(sid) ?? 0) + 1);
    return get.call(this, sid, callback);
  };
  store[LOOKUPS] = lookups;
  return lookups;
}

export function withSessionStatus(sessionMiddleware: Middleware, options: SessionStatusOptions = {}): Middleware {
  const name = options.cookieName ?? 'connect.sid';
  const userOf = options.user ?? ((req: SessionRequest) => req.session?.user);
  /** The store express-session uses, once a request has shown it. */
  let store = options.store as CountedStore | undefined;
  if (store) countLookups(store);
  return (req, res, next) => {
    const backend = options.backend ?? process.env.BACKEND_ID;
    const incoming = cookieFrom(req.headers.cookie, name);
    let status: 'none' | 'loaded' | 'unknown-id' = incoming === undefined ? 'none' : 'unknown-id';
    // A signed id (s:ID.SIG) the store was never asked for: express-session refused its signature
    // (a secret other than the one that signed it). Known only once the store is (a request has shown it).
    const signedId = incoming?.startsWith('s:') ? unsignedId(incoming) : undefined;
    const lookups = store && countLookups(store);
    const asked = signedId !== undefined && lookups ? (lookups.get(signedId) ?? 0) : undefined;
    let rejected: 'signature' | undefined;
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
        if (rejected && reported === 'unknown-id') res.setHeader('x-session-rejected', rejected);
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
      const seen = (req as SessionRequest & { sessionStore?: CountedStore }).sessionStore;
      if (status === 'unknown-id' && asked !== undefined && (lookups!.get(signedId!) ?? 0) === asked) rejected = 'signature';
      if (seen && typeof seen.get === 'function') store ??= seen;
      if (store) countLookups(store);
      next(error);
    });
  };
}
