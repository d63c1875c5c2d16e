import type { IncomingMessage } from 'node:http';
import { stringifySetCookie } from 'cookie';
import { DEMO_USERS, type BackendConfig } from './config.js';
import type { Session } from './session/session.js';

/**
 * The reference application: a landing page, a login, a private drafts
 * page (the story in session-resets.md) and a cart carried across pages,
 * as in a payment flow. Handlers only read and change the session; the
 * server (app.ts) loads and commits it around them.
 */
export interface Reply {
  status: number;
  body: unknown;
  /** Cookies of the application's own, besides the session cookie. */
  setCookies?: string[];
}

export interface RouteContext {
  req: IncomingMessage;
  session: Session;
  body: unknown;
  now: number;
  config: BackendConfig;
  /** The request counts as https for this server. */
  secure: boolean;
}

type Handler = (ctx: RouteContext) => Promise<Reply> | Reply;

const DRAFTS: Readonly<Record<string, string[]>> = {
  alice: ['Why sessions reset', 'Sticky or shared?'],
  bob: ['Notes on Redis TTLs'],
  carol: ['Cookie attributes, a field guide'],
  dave: ['Load balancers I have known'],
};

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

const routes: Record<string, Handler> = {
  'GET /': ({ session, now }) => {
    const record = session.ensure(now);
    return { status: 200, body: { page: 'home', user: record.user ?? null } };
  },

  'POST /login': async ({ session, body, now }) => {
    const user = field(body, 'user');
    const password = field(body, 'password');
    if (typeof user !== 'string' || typeof password !== 'string' || DEMO_USERS[user] !== password) {
      session.ensure(now);
      return { status: 401, body: { error: 'unknown user or wrong password' } };
    }
    // A new id on login: the fixation defence OWASP asks for. The data stays.
    const record = await session.regenerate(now);
    record.user = user;
    record.loginAt = now;
    return { status: 200, body: { user } };
  },

  'GET /drafts': ({ session, now }) => {
    const record = session.ensure(now);
    if (!record.user) return { status: 401, body: { error: 'log in to see your drafts' } };
    return { status: 200, body: { user: record.user, drafts: DRAFTS[record.user] ?? [] } };
  },

  // delayMs: the request takes that long between loading the session and
  // saving it (a payment check, say), which is when concurrent requests of
  // the same user overwrite each other.
  'POST /cart/items': async ({ session, body, now }) => {
    const sku = field(body, 'sku');
    const qty = field(body, 'qty') ?? 1;
    const delayMs = field(body, 'delayMs') ?? 0;
    if (typeof sku !== 'string' || typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1 || typeof delayMs !== 'number' || delayMs < 0 || delayMs > 5000) {
      session.ensure(now);
      return { status: 400, body: { error: 'expected {"sku": string, "qty": positive integer, "delayMs"?: 0..5000}' } };
    }
    session.ensure(now);
    session.change((record) => {
      const cart = (record.data.cart as { sku: string; qty: number }[] | undefined) ?? [];
      cart.push({ sku, qty });
      record.data.cart = cart;
    });
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return { status: 201, body: { cart: session.record!.data.cart } };
  },

  'GET /cart': ({ session, now }) => {
    const record = session.ensure(now);
    return { status: 200, body: { cart: record.data.cart ?? [] } };
  },

  // A partner service hands out a link back to this site; over plain http
  // it is the seed of the Secure-cookie reset in session-resets.md.
  // The link is built from the configured site, never from request headers:
  // echoing X-Forwarded-Host or Host would hand out links to any site a
  // client names (host header injection).
  'GET /partner/link': ({ session, now, config }) => {
    session.ensure(now);
    return { status: 200, body: { url: `${config.partnerLinkScheme}://${config.site ?? 'localhost'}/drafts` } };
  },

  // A privilege change: a new id, as OWASP asks. Done right, the login
  // stays; with regenerateKeepsData off, it is lost (fastify/session #240's family).
  'POST /profile': async ({ session, now, config }) => {
    const user = session.ensure(now).user;
    if (!user) return { status: 401, body: { error: 'log in to change your profile' } };
    const record = await session.regenerate(now, { keepData: config.regenerateKeepsData });
    return { status: 200, body: { user: record.user ?? null, updated: true } };
  },

  // Site preferences in a cookie of their own, of the requested size; no
  // session needed. Large cookies are how Cookie headers outgrow proxy limits.
  'POST /prefs': ({ body }) => {
    const name = field(body, 'name') ?? 'prefs';
    const bytes = field(body, 'bytes');
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(name) || typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 1 || bytes > 8000) {
      return { status: 400, body: { error: 'expected {"name": lower-case token, "bytes": integer 1..8000}' } };
    }
    return { status: 200, body: { name, bytes }, setCookies: [stringifySetCookie({ name, value: 'x'.repeat(bytes), path: '/' })] };
  },

  'POST /logout': async ({ session }) => {
    await session.destroy();
    return { status: 200, body: { loggedOut: true } };
  },
};

export function findRoute(method: string, path: string): Handler | undefined {
  return routes[`${method} ${path}`];
}
