/** The session layer's view of each request, which every response reports as X-Session-Status. */
import type { IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { MemoryStore } from '../../servers/session/memory-store.js';
import { SessionManager, type SessionOptions } from '../../servers/session/session.js';

const OPTIONS: SessionOptions = { cookieName: 'sid', ttlMs: 60_000, idleTimeoutMs: 0, absoluteTimeoutMs: 0, secureCookie: false };

function request(cookie?: string): IncomingMessage {
  return { headers: cookie ? { cookie } : {} } as IncomingMessage;
}

function idFrom(setCookie: string | undefined): string {
  const match = /^sid=([^;]+)/.exec(setCookie ?? '');
  if (!match) throw new Error(`no sid in ${setCookie}`);
  return match[1];
}

describe('session layer', () => {
  test('a first visit creates a session with a 128-bit id and a HttpOnly, SameSite=Lax, Path=/ cookie', async () => {
    const manager = new SessionManager(new MemoryStore(), OPTIONS);
    const session = await manager.begin(request(), 0);
    expect(session.status).toBe('none');
    session.ensure(0);
    expect(session.status).toBe('created');
    const setCookie = await session.commit();
    expect(setCookie).toMatch(/^sid=[A-Za-z0-9_-]{22}; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(Buffer.from(idFrom(setCookie), 'base64url')).toHaveLength(16);
  });

  test('the next request with that id loads it and sends no new cookie', async () => {
    const manager = new SessionManager(new MemoryStore(), OPTIONS);
    const first = await manager.begin(request(), 0);
    first.ensure(0);
    const id = idFrom(await first.commit());
    const second = await manager.begin(request(`other=1; sid=${id}`), 10);
    expect(second.status).toBe('loaded');
    second.ensure(10);
    expect(await second.commit()).toBeUndefined();
  });

  test('an id the store does not have is "unknown-id" and gets a new id', async () => {
    const manager = new SessionManager(new MemoryStore(), OPTIONS);
    const session = await manager.begin(request('sid=AAAAAAAAAAAAAAAAAAAAAA'), 0);
    expect(session.status).toBe('unknown-id');
    session.ensure(0);
    expect(session.status).toBe('unknown-id');
    expect(idFrom(await session.commit())).not.toBe('AAAAAAAAAAAAAAAAAAAAAA');
  });

  test('an id past the idle limit is "expired" and destroyed in the store', async () => {
    const store = new MemoryStore();
    const manager = new SessionManager(store, { ...OPTIONS, idleTimeoutMs: 1000 });
    const first = await manager.begin(request(), Date.now());
    first.ensure(Date.now());
    const id = idFrom(await first.commit());
    const late = await manager.begin(request(`sid=${id}`), Date.now() + 1001);
    expect(late.status).toBe('expired');
    expect(await store.get(id)).toBeUndefined();
  });

  test('regenerate issues a new id, keeps the data and destroys the old id', async () => {
    const store = new MemoryStore();
    const manager = new SessionManager(store, OPTIONS);
    const first = await manager.begin(request(), 0);
    first.ensure(0).data.cart = ['book'];
    const oldId = idFrom(await first.commit());
    const login = await manager.begin(request(`sid=${oldId}`), 1);
    (await login.regenerate(1)).user = 'alice';
    const newId = idFrom(await login.commit());
    expect(newId).not.toBe(oldId);
    expect(await store.get(oldId)).toBeUndefined();
    expect(await store.get(newId)).toMatchObject({ user: 'alice', data: { cart: ['book'] } });
  });

  test('destroy ends the session server-side and clears the cookie', async () => {
    const store = new MemoryStore();
    const manager = new SessionManager(store, OPTIONS);
    const first = await manager.begin(request(), 0);
    first.ensure(0);
    const id = idFrom(await first.commit());
    const logout = await manager.begin(request(`sid=${id}`), 1);
    await logout.destroy();
    expect(logout.status).toBe('destroyed');
    expect(await logout.commit()).toMatch(/^sid=; Max-Age=0;/);
    expect(await store.get(id)).toBeUndefined();
  });

  test('the Secure option adds Secure to the cookie', async () => {
    const manager = new SessionManager(new MemoryStore(), { ...OPTIONS, secureCookie: true });
    const session = await manager.begin(request(), 0);
    session.ensure(0);
    expect(await session.commit()).toMatch(/; Secure/);
  });
});
