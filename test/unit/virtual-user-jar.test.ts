/**
 * The virtual user's jar must send exactly what a browser would for the URL
 * in hand. undici's MockAgent answers in-process, so no socket is opened.
 */
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { sameSiteContext, VirtualUser } from '../../harness/client/virtual-user.js';

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

  test("two users have two jars: one user's cookie never reaches the other", async () => {
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
    agent
      .get('http://shop.example.test')
      .intercept({ path: '/', method: 'GET' })
      .replyWithError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    const exchange = await user.send({ method: 'GET', url: 'http://shop.example.test/' });
    expect(exchange.status).toBe(0);
    expect(exchange.error).toBeDefined();
  });
});

describe('client policies', () => {
  test('a client that refuses cookies stores none and says why', async () => {
    const user = new VirtualUser(agent, { cookies: 'refuse' });
    answer('http://shop.example.test', '/', ['sid=abc; Path=/']);
    const exchange = await user.send({ method: 'GET', url: 'http://shop.example.test/' });
    expect(user.contents()).toEqual([]);
    expect(exchange.refused).toEqual([{ name: 'sid', reason: 'the client refuses cookies' }]);
  });

  test('a cookie whose name and value pass 4096 bytes is ignored (RFC 6265bis)', async () => {
    const user = new VirtualUser(agent);
    answer('http://shop.example.test', '/', [`big=${'x'.repeat(4094)}`, `fits=${'x'.repeat(4092)}`]);
    const exchange = await user.send({ method: 'GET', url: 'http://shop.example.test/' });
    expect(user.contents().map((c) => c.name)).toEqual(['fits']);
    expect(exchange.refused).toEqual([{ name: 'big', reason: 'cookie over 4096 bytes ignored (RFC 6265bis)' }]);
  });

  test('a SameSite=None cookie without Secure is refused, saying why, as Chromium refuses it', async () => {
    const user = new VirtualUser(agent);
    answer('https://shop.example.test', '/', ['sid=abc; Path=/; SameSite=None', 'ok=1; Path=/; SameSite=None; Secure']);
    const exchange = await user.send({ method: 'GET', url: 'https://shop.example.test/' });
    expect(user.contents().map((c) => c.name)).toEqual(['ok']);
    expect(exchange.refused).toEqual([{ name: 'sid', reason: 'rejected by the jar: SameSite=None without Secure (Chromium refuses it)' }]);
  });

  test('Secure cookies go to http://localhost as in current browsers, and not under the strict rule', async () => {
    for (const [secureOnLocal, expected] of [
      [true, 'sid=abc'],
      [false, undefined],
    ] as const) {
      const user = new VirtualUser(agent, { secureOnLocal });
      answer('https://localhost:8443', '/', ['sid=abc; Path=/; Secure']);
      await user.send({ method: 'GET', url: 'https://localhost:8443/' });
      const seen = answer('http://localhost:8080', '/drafts');
      await user.send({ method: 'GET', url: 'http://localhost:8080/drafts' });
      expect(seen.cookie).toBe(expected);
    }
  });

  test('explains why a held cookie was not sent', async () => {
    const user = new VirtualUser(agent);
    answer('https://shop.example.test', '/', ['sid=abc; Path=/; Secure', 'acct=1; Path=/account']);
    await user.send({ method: 'GET', url: 'https://shop.example.test/' });
    expect(user.explainWithheld('sid', 'http://shop.example.test/drafts')).toBe('Secure cookie sid withheld by the client: request URL is http (http://shop.example.test/drafts)');
    expect(user.explainWithheld('acct', 'https://shop.example.test/cart')).toBe('cookie acct has Path=/account, which does not cover /cart');
    expect(user.explainWithheld('sid', 'https://other.example.test/')).toBe('cookie sid belongs to shop.example.test only, not sent to other.example.test');
    expect(user.explainWithheld('sid', 'https://shop.example.test/drafts')).toBeUndefined();
  });
});

describe('SameSite', () => {
  test('the context of a request: same-site, a link from another site, a form post from another site', () => {
    expect(sameSiteContext('GET', 'https://shop.example.test/drafts', undefined)).toBe('strict');
    expect(sameSiteContext('GET', 'https://shop.example.test/drafts', 'https://blog.example.test/post')).toBe('strict');
    expect(sameSiteContext('GET', 'https://shop.example.test/drafts', 'https://partner.test/offers')).toBe('lax');
    expect(sameSiteContext('POST', 'https://shop.example.test/cart/items', 'https://partner.test/offers')).toBe('none');
  });

  test('a link from another site: Lax cookies go, Strict ones are withheld, and the client says why', async () => {
    const user = new VirtualUser(agent);
    answer('https://shop.example.test', '/', ['sid=abc; Path=/; SameSite=Strict', 'csrf=1; Path=/; SameSite=Lax']);
    await user.send({ method: 'GET', url: 'https://shop.example.test/' });
    const seen = answer('https://shop.example.test', '/drafts');
    await user.send({ method: 'GET', url: 'https://shop.example.test/drafts', from: 'https://partner.test/offers' });
    expect(seen.cookie).toBe('csrf=1');
    expect(user.explainWithheld('sid', 'https://shop.example.test/drafts', 'GET', 'https://partner.test/offers')).toBe(
      'SameSite=Strict cookie sid withheld by the client: the request comes from another site (https://partner.test/offers)',
    );
    const post = answer('https://shop.example.test', '/drafts');
    await user.send({ method: 'GET', url: 'https://shop.example.test/drafts' });
    expect(post.cookie).toBe('sid=abc; csrf=1');
  });
});

describe('cookie lifetime (Chromium, RFC 6265 §5.2.2)', () => {
  test('Max-Age counts from receipt: steady requests do not keep a 1 s cookie alive', async () => {
    const user = new VirtualUser(agent);
    answer('http://shop.example.test', '/', ['sid=abc; Path=/; Max-Age=1']);
    await user.send({ method: 'GET', url: 'http://shop.example.test/' });
    const receivedBy = Date.now();
    const sent: (string | undefined)[] = [];
    // Request again and again (no pause) until the cookie's second is over, then once more.
    while (Date.now() <= receivedBy + 1000) {
      answer('http://shop.example.test', '/drafts');
      sent.push((await user.send({ method: 'GET', url: 'http://shop.example.test/drafts' })).cookieSent);
    }
    const last = answer('http://shop.example.test', '/drafts');
    await user.send({ method: 'GET', url: 'http://shop.example.test/drafts' });
    expect(sent[0]).toBe('sid=abc');
    expect(last.cookie).toBeUndefined();
    expect(user.cookieValue('sid')).toBeUndefined();
  });
});
