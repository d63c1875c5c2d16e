import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEMO_USERS } from './config.js';
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
}

export interface RouteContext {
  req: IncomingMessage;
  session: Session;
  body: unknown;
  now: number;
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

  'POST /cart/items': ({ session, body, now }) => {
    const sku = field(body, 'sku');
    const qty = field(body, 'qty') ?? 1;
    if (typeof sku !== 'string' || typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1) {
      session.ensure(now);
      return { status: 400, body: { error: 'expected {"sku": string, "qty": positive integer}' } };
    }
    const record = session.ensure(now);
    const cart = (record.data.cart as { sku: string; qty: number }[] | undefined) ?? [];
    cart.push({ sku, qty });
    record.data.cart = cart;
    session.markChanged();
    return { status: 201, body: { cart } };
  },

  'GET /cart': ({ session, now }) => {
    const record = session.ensure(now);
    return { status: 200, body: { cart: record.data.cart ?? [] } };
  },

  'POST /logout': async ({ session }) => {
    await session.destroy();
    return { status: 200, body: { loggedOut: true } };
  },
};

export function findRoute(method: string, path: string): Handler | undefined {
  return routes[`${method} ${path}`];
}
