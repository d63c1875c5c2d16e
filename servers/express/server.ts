/**
 * The second reference server, on the stack most Node apps use: Express 4
 * and express-session, sessions in memory (express-session's MemoryStore)
 * or in Redis (connect-redis 7 on ioredis). It is run the way a user's app
 * is: from a command (`--server express` is `--app "node …/server.js"`),
 * configured only through its environment, so it exercises that path.
 *
 *   PORT, HOST            where to listen (session-lab sets both)
 *   BACKEND_ID            its name (X-Backend)
 *   REDIS_URL             connect-redis on this Redis; else MemoryStore
 *   SESSION_SECRET        cookie-signing secret; unset, each process makes its own (the bug)
 *   SESSION_COOKIE        cookie name (default connect.sid)
 *   SAVE_UNINITIALIZED, RESAVE, ROLLING   express-session's options (true | false)
 *   COOKIE_MAX_AGE_MS     cookie maxAge (unset: a browser-session cookie)
 *   COOKIE_DOMAIN         cookie domain
 *   COOKIE_SECURE         true | false | auto (default auto)
 *   TRUST_PROXY           Express's trust proxy (default true)
 *   SESSION_STATUS        on (default): report sessions with session-lab/express; off: a black box
 *
 * Routes as the reference server's (servers/routes.ts) where they make sense.
 */
import { randomBytes } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import session, { type Store } from 'express-session';
import { withSessionStatus } from '../../harness/express/middleware.js';
import { DEMO_USERS } from '../config.js';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    cart?: { sku: string; qty: number }[];
  }
}

const env = process.env;
const flag = (name: string, fallback: boolean) => (env[name] === undefined ? fallback : env[name] === 'true' || env[name] === '1');
const cookieName = env.SESSION_COOKIE ?? 'connect.sid';

const DRAFTS: Readonly<Record<string, string[]>> = {
  alice: ['Why sessions reset', 'Sticky or shared?'],
  bob: ['Notes on Redis TTLs'],
  carol: ['Cookie attributes, a field guide'],
  dave: ['Load balancers I have known'],
};

async function createStore(): Promise<Store | undefined> {
  if (!env.REDIS_URL) return undefined;
  const [{ default: RedisStore }, { Redis }] = await Promise.all([import('connect-redis'), import('ioredis')]);
  const client = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  return new RedisStore({ client, prefix: env.SESSION_PREFIX ?? 'sess:' });
}

async function main(): Promise<void> {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', flag('TRUST_PROXY', true));
  const secure = env.COOKIE_SECURE === 'true' ? true : env.COOKIE_SECURE === 'false' ? false : 'auto';
  const maxAge = env.COOKIE_MAX_AGE_MS ? Number(env.COOKIE_MAX_AGE_MS) : undefined;
  // The store named, so the middleware can tell a refused signature from the first request on.
  const store = (await createStore()) ?? new session.MemoryStore();
  const sessions = session({
    name: cookieName,
    store,
    // Unset, every process signs with its own secret: other replicas reject its cookies (hyperdx PR #3129).
    secret: env.SESSION_SECRET || randomBytes(32).toString('hex'),
    resave: flag('RESAVE', false),
    saveUninitialized: flag('SAVE_UNINITIALIZED', true),
    rolling: flag('ROLLING', false),
    cookie: { httpOnly: true, sameSite: 'lax', secure, maxAge, domain: env.COOKIE_DOMAIN || undefined, path: '/' },
  });
  app.use((req, res, next) => {
    if (env.BACKEND_ID && env.SESSION_STATUS === 'off') res.setHeader('x-served-by', env.BACKEND_ID);
    next();
  });
  app.get('/health', (_req, res) => {
    res.json({ ok: true, backend: env.BACKEND_ID });
  });
  app.use(env.SESSION_STATUS === 'off' ? sessions : (withSessionStatus(sessions as never, { cookieName, store }) as unknown as typeof sessions));
  app.use(express.json({ limit: '64kb' }));

  app.get('/', (req, res) => {
    res.json({ page: 'home', user: req.session.user ?? null });
  });
  app.post('/login', (req: Request, res: Response, next) => {
    const { user, password } = (req.body ?? {}) as { user?: unknown; password?: unknown };
    if (typeof user !== 'string' || typeof password !== 'string' || DEMO_USERS[user] !== password) {
      res.status(401).json({ error: 'unknown user or wrong password' });
      return;
    }
    // A new id on login, the data kept (the cart), as OWASP asks.
    const cart = req.session.cart;
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.user = user;
      if (cart) req.session.cart = cart;
      res.json({ user });
    });
  });
  app.get('/drafts', (req, res) => {
    const user = req.session.user;
    if (!user) {
      res.status(401).json({ error: 'log in to see your drafts' });
      return;
    }
    res.json({ user, drafts: DRAFTS[user] ?? [] });
  });
  app.post('/cart/items', (req, res) => {
    const { sku, qty = 1, delayMs = 0 } = (req.body ?? {}) as { sku?: unknown; qty?: unknown; delayMs?: unknown };
    if (typeof sku !== 'string' || typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1 || typeof delayMs !== 'number' || delayMs < 0 || delayMs > 5000) {
      res.status(400).json({ error: 'expected {"sku": string, "qty": positive integer, "delayMs"?: 0..5000}' });
      return;
    }
    req.session.cart = [...(req.session.cart ?? []), { sku, qty }];
    setTimeout(() => res.status(201).json({ cart: req.session.cart }), delayMs);
  });
  app.get('/cart', (req, res) => {
    res.json({ cart: req.session.cart ?? [] });
  });
  app.get('/partner/link', (req, res) => {
    const host = String(req.headers['x-forwarded-host'] ?? req.headers.host ?? 'localhost')
      .split(',')[0]
      .trim();
    res.json({ url: `${env.PARTNER_LINK_SCHEME ?? 'https'}://${host}/drafts` });
  });
  app.post('/profile', (req, res, next) => {
    const user = req.session.user;
    if (!user) {
      res.status(401).json({ error: 'log in to change your profile' });
      return;
    }
    const data = { user: req.session.user, cart: req.session.cart };
    req.session.regenerate((error) => {
      if (error) return next(error);
      Object.assign(req.session, data);
      res.json({ user, updated: true });
    });
  });
  app.post('/prefs', (req, res) => {
    const { name = 'prefs', bytes } = (req.body ?? {}) as { name?: unknown; bytes?: unknown };
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(name) || typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 1 || bytes > 8000) {
      res.status(400).json({ error: 'expected {"name": lower-case token, "bytes": integer 1..8000}' });
      return;
    }
    res.cookie(name, 'x'.repeat(bytes), { path: '/' }).json({ name, bytes });
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => {
      if (error) return next(error);
      res.clearCookie(cookieName, { path: '/' }).json({ loggedOut: true });
    });
  });

  const server = app.listen(Number(env.PORT), env.HOST ?? '127.0.0.1');
  server.keepAliveTimeout = 30_000;
  const shutdown = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`express server failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
