/** The session layer's view of each request, which every response reports (X-Session-*). */
import type { IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { MemoryStore } from '../../servers/session/memory-store.js';
import { SessionManager, type CommitResult, type SessionOptions } from '../../servers/session/session.js';

const OPTIONS: SessionOptions = {
  cookieName: 'sid',
  ttlMs: 60_000,
  idleTimeoutMs: 0,
  absoluteTimeoutMs: 0,
  secureCookie: 'auto',
  cookieMaxAgeMs: 0,
  rolling: true,
  writes: 'whole',
};

function request(cookie?: string): IncomingMessage {
  return { headers: cookie ? { cookie } : {} } as IncomingMessage;
}

function sidCookie(result: CommitResult): string | undefined {
  return result.setCookies.find((c) => c.startsWith('sid='));
}

function idFrom(result: CommitResult): string {
  const match = /^sid=([^;]+)/.exec(sidCookie(result) ?? '');
  if (!match) throw new Error(`no sid in ${result.setCookies.join(' | ')}`);
  return match[1];
}

async function firstVisit(manager: SessionManager, now = 0): Promise<string> {
  const session = await manager.begin(request(), now);
  session.ensure(now);
  return idFrom(await session.commit(false));
}

describe('session layer', () => {
  test('a first visit creates a session with a 128-bit id in a HttpOnly, SameSite=Lax, Path=/ cookie, after a CSRF cookie', async () => {
    const manager = new SessionManager(new MemoryStore(), OPTIONS);
    const session = await manager.begin(request(), 0);
    expect(session.status).toBe('none');
    session.ensure(0);
    expect(session.status).toBe('created');
    const result = await session.commit(false);
    expect(result).toMatchObject({ write: 'set', cookie: 'sent' });
    expect(result.setCookies[0]).toMatch(/^csrf=/);
    expect(sidCookie(result)).toMatch(/^sid=[A-Za-z0-9_-]{22}; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(Buffer.from(idFrom(result), 'base64url')).toHaveLength(16);
  });

  test('the next request with that id loads it, refreshes the TTL (rolling) and sends no new cookie', async () => {
    const manager = new SessionManager(new MemoryStore(), OPTIONS);
    const id = await firstVisit(manager);
    const second = await manager.begin(request(`other=1; sid=${id}`), 10);
    expect(second.status).toBe('loaded');
    second.ensure(10);
    expect(await second.commit(false)).toEqual({ setCookies: [], write: 'touch', cookie: 'none' });
  });

  test('with rolling off a read leaves the store TTL alone', async () => {
    const manager = new SessionManager(new MemoryStore(), { ...OPTIONS, rolling: false });
    const id = await firstVisit(manager);
    const second = await manager.begin(request(`sid=${id}`), 10);
    expect((await second.commit(false)).write).toBe('none');
  });

  test('an id the store does not have is "unknown-id" and gets a new id', async () => {
    const manager = new SessionManager(new MemoryStore(), OPTIONS);
    const session = await manager.begin(request('sid=AAAAAAAAAAAAAAAAAAAAAA'), 0);
    expect(session.status).toBe('unknown-id');
    session.ensure(0);
    expect(session.status).toBe('unknown-id');
    expect(idFrom(await session.commit(false))).not.toBe('AAAAAAAAAAAAAAAAAAAAAA');
  });

  test('an id past the idle limit is "expired" by idle and destroyed in the store', async () => {
    const store = new MemoryStore();
    const manager = new SessionManager(store, { ...OPTIONS, idleTimeoutMs: 1000 });
    const now = Date.now();
    const id = await firstVisit(manager, now);
    const late = await manager.begin(request(`sid=${id}`), now + 1001);
    expect(late.status).toBe('expired');
    expect(late.expiredBy).toBe('idle');
    expect(await store.get(id)).toBeUndefined();
  });

  test('a login older than the absolute limit is "expired" by absolute, however active', async () => {
    const manager = new SessionManager(new MemoryStore(), { ...OPTIONS, absoluteTimeoutMs: 1000 });
    const now = Date.now();
    const login = await manager.begin(request(), now);
    const record = login.ensure(now);
    record.user = 'alice';
    record.loginAt = now;
    const id = idFrom(await login.commit(false));
    const active = await manager.begin(request(`sid=${id}`), now + 600);
    expect(active.status).toBe('loaded');
    await active.commit(false);
    const late = await manager.begin(request(`sid=${id}`), now + 1200);
    expect(late.expiredBy).toBe('absolute');
  });

  test('regenerate issues a new id, keeps the data and destroys the old id', async () => {
    const store = new MemoryStore();
    const manager = new SessionManager(store, OPTIONS);
    const first = await manager.begin(request(), 0);
    first.ensure(0).data.cart = ['book'];
    const oldId = idFrom(await first.commit(false));
    const login = await manager.begin(request(`sid=${oldId}`), 1);
    (await login.regenerate(1)).user = 'alice';
    const newId = idFrom(await login.commit(false));
    expect(newId).not.toBe(oldId);
    expect(await store.get(oldId)).toBeUndefined();
    expect(await store.get(newId)).toMatchObject({ user: 'alice', data: { cart: ['book'] } });
  });

  test('regenerate without keeping data (the bug) loses the login', async () => {
    const store = new MemoryStore();
    const manager = new SessionManager(store, OPTIONS);
    const first = await manager.begin(request(), 0);
    first.ensure(0).user = 'alice';
    const oldId = idFrom(await first.commit(false));
    const profile = await manager.begin(request(`sid=${oldId}`), 1);
    await profile.regenerate(1, { keepData: false });
    const newId = idFrom(await profile.commit(false));
    expect((await store.get(newId))?.user).toBeUndefined();
  });

  test('destroy ends the session server-side and clears the cookie', async () => {
    const store = new MemoryStore();
    const manager = new SessionManager(store, OPTIONS);
    const id = await firstVisit(manager);
    const logout = await manager.begin(request(`sid=${id}`), 1);
    await logout.destroy();
    expect(logout.status).toBe('destroyed');
    const result = await logout.commit(false);
    expect(result.write).toBe('destroy');
    expect(result.setCookies[0]).toMatch(/^sid=; Max-Age=0;/);
    expect(await store.get(id)).toBeUndefined();
  });

  test('secureCookie auto: Secure on an https request, not on http', async () => {
    const manager = new SessionManager(new MemoryStore(), OPTIONS);
    const https = await manager.begin(request(), 0);
    https.ensure(0);
    expect(sidCookie(await https.commit(true))).toMatch(/; Secure/);
    const http = await manager.begin(request(), 0);
    http.ensure(0);
    expect(sidCookie(await http.commit(false))).not.toMatch(/Secure/);
  });

  test('secureCookie on with a request that looks like http: the session is saved but no cookie is sent', async () => {
    const store = new MemoryStore();
    const manager = new SessionManager(store, { ...OPTIONS, secureCookie: 'on' });
    const session = await manager.begin(request(), 0);
    session.ensure(0);
    const result = await session.commit(false);
    expect(result).toEqual({ setCookies: [], write: 'set', cookie: 'withheld-insecure' });
    expect(await store.get(session.id!)).toBeDefined();
  });

  test('a cookie Max-Age is set in seconds, and refreshed on each request when rolling', async () => {
    const manager = new SessionManager(new MemoryStore(), { ...OPTIONS, cookieMaxAgeMs: 60_000 });
    const first = await manager.begin(request(), 0);
    first.ensure(0);
    const created = await first.commit(false);
    expect(sidCookie(created)).toMatch(/Max-Age=60/);
    const again = await manager.begin(request(`sid=${idFrom(created)}`), 1);
    expect(sidCookie(await again.commit(false))).toMatch(/Max-Age=60/);
  });

  describe('concurrent requests of one user', () => {
    async function twoConcurrentAdds(writes: 'whole' | 'locking') {
      const store = new MemoryStore();
      const manager = new SessionManager(store, { ...OPTIONS, writes });
      const id = await firstVisit(manager);
      // Both load the same record before either saves: the race of tj/connect-redis #75.
      const a = await manager.begin(request(`sid=${id}`), 1);
      const b = await manager.begin(request(`sid=${id}`), 1);
      const add = (sku: string) => (record: { data: Record<string, unknown> }) => {
        record.data.cart = [...((record.data.cart as string[] | undefined) ?? []), sku];
      };
      a.change(add('book'));
      b.change(add('pen'));
      await a.commit(false);
      await b.commit(false);
      return (await store.get(id))?.data.cart;
    }

    test('whole-record writes: the last writer wins and one item is lost', async () => {
      expect(await twoConcurrentAdds('whole')).toEqual(['pen']);
    });

    test('locking writes: both items are kept', async () => {
      expect(await twoConcurrentAdds('locking')).toEqual(['book', 'pen']);
    });

    /** A slow request loads the session, a logout destroys it, then the slow one saves. */
    async function slowSaveAfterLogout(writes: 'whole' | 'locking') {
      const store = new MemoryStore();
      const manager = new SessionManager(store, { ...OPTIONS, writes });
      const id = await firstVisit(manager);
      const slow = await manager.begin(request(`sid=${id}`), 1);
      const logout = await manager.begin(request(`sid=${id}`), 1);
      await logout.destroy();
      await logout.commit(false);
      slow.change((record) => {
        record.data.cart = ['book'];
      });
      return { write: (await slow.commit(false)).write, stored: await store.get(id) };
    }

    test('locking writes never bring back a session destroyed meanwhile', async () => {
      expect(await slowSaveAfterLogout('locking')).toEqual({ write: 'none', stored: undefined });
    });

    test('whole-record writes do bring it back (tj/connect-redis #328)', async () => {
      const { write, stored } = await slowSaveAfterLogout('whole');
      expect(write).toBe('set');
      expect(stored?.data.cart).toEqual(['book']);
    });
  });
});
