/**
 * The virtual user's jar must send exactly what a browser would for the URL
 * in hand. undici's MockAgent answers in-process, so no socket is opened.
 */
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { VirtualUser } from '../../harness/client/virtual-user.js';

let agent: MockAgent;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
});
afterEach(async () => {
  await agent.close();
});

/** Answers `path` on `origin` once with these Set-Cookie headers and records the Cookie header it got. */
function answer(origin: string, path: string, setCookie: string[] = []): { cookie: string | undefined } {
  const seen: { cookie: string | undefined } = { cookie: undefined };
  agent
    .get(origin)
    .intercept({ path, method: 'GET' })
    .reply((options) => {
      const headers = options.headers as Record<string, string>;
      seen.cookie = headers.cookie;
      return { statusCode: 200, data: 'ok', responseOptions: { headers: { 'set-cookie': setCookie } } };
    });
  return seen;
}

describe('virtual user cookie jar (RFC 6265)', () => {
  test('stores a Set-Cookie and sends it back on the next request to the same site', async () => {
    const user = new VirtualUser(agent);
    answer('http://shop.example.test', '/', ['sid=abc; Path=/; HttpOnly']);
    await user.send({ method: 'GET', url: 'http://shop.example.test/' });
    const seen = answer('http://shop.example.test', '/drafts');
    const exchange = await user.send({ method: 'GET', url: 'http://shop.example.test/drafts' });
    expect(seen.cookie).toBe('sid=abc');
    expect(exchange.cookieSent).toBe('sid=abc');
  });

  test('withholds a Secure cookie on an http:// URL of a non-local host', async () => {
    const user = new VirtualUser(agent);
    answer('https://shop.example.test', '/', ['sid=abc; Path=/; Secure']);
    await user.send({ method: 'GET', url: 'https://shop.example.test/' });
    const seen = answer('http://shop.example.test', '/drafts');
    await user.send({ method: 'GET', url: 'http://shop.example.test/drafts' });
    expect(seen.cookie).toBeUndefined();
  });

  test('sends a cookie only under its Path', async () => {
    const user = new VirtualUser(agent);
    answer('http://shop.example.test', '/account/login', ['acct=1; Path=/account']);
    await user.send({ method: 'GET', url: 'http://shop.example.test/account/login' });
    const outside = answer('http://shop.example.test', '/cart');
    await user.send({ method: 'GET', url: 'http://shop.example.test/cart' });
    const inside = answer('http://shop.example.test', '/account/drafts');
    await user.send({ method: 'GET', url: 'http://shop.example.test/account/drafts' });
    expect(outside.cookie).toBeUndefined();
    expect(inside.cookie).toBe('acct=1');
  });

  test('does not send a host-only cookie to another host, but a Domain cookie to its subdomains', async () => {
    const user = new VirtualUser(agent);
    answer('http://example.test', '/', ['host=1', 'dom=2; Domain=example.test']);
    await user.send({ method: 'GET', url: 'http://example.test/' });
    const sub = answer('http://shop.example.test', '/');
    await user.send({ method: 'GET', url: 'http://shop.example.test/' });
    expect(sub.cookie).toBe('dom=2');
  });

  test('rejects a cookie for a Domain the response did not come from', async () => {
    const user = new VirtualUser(agent);
    answer('http://shop.example.test', '/', ['evil=1; Domain=other.test']);
    await user.send({ method: 'GET', url: 'http://shop.example.test/' });
    expect(user.contents()).toEqual([]);
  });

  test('Max-Age=0 removes the cookie, as a logout response does', async () => {
    const user = new VirtualUser(agent);
    answer('http://shop.example.test', '/', ['sid=abc; Path=/']);
    await user.send({ method: 'GET', url: 'http://shop.example.test/' });
    expect(user.cookieValue('sid')).toBe('abc');
    answer('http://shop.example.test', '/logout', ['sid=; Max-Age=0; Path=/']);
    await user.send({ method: 'GET', url: 'http://shop.example.test/logout' });
    expect(user.cookieValue('sid')).toBeUndefined();
    const seen = answer('http://shop.example.test', '/');
    await user.send({ method: 'GET', url: 'http://shop.example.test/' });
    expect(seen.cookie).toBeUndefined();
  });

  test('two users have two jars: one user\'s cookie never reaches the other', async () => {
    const alice = new VirtualUser(agent);
    const bob = new VirtualUser(agent);
    answer('http://shop.example.test', '/', ['sid=alice']);
    await alice.send({ method: 'GET', url: 'http://shop.example.test/' });
    const seen = answer('http://shop.example.test', '/');
    await bob.send({ method: 'GET', url: 'http://shop.example.test/' });
    expect(seen.cookie).toBeUndefined();
  });

  test('a network error becomes status 0 with the error code, not an exception', async () => {
    const user = new VirtualUser(agent);
    agent.get('http://shop.example.test').intercept({ path: '/', method: 'GET' }).replyWithError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    const exchange = await user.send({ method: 'GET', url: 'http://shop.example.test/' });
    expect(exchange.status).toBe(0);
    expect(exchange.error).toBeDefined();
  });
});
