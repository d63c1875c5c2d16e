/**
 * Where tough-cookie (RFC 6265 as written) and Chromium part ways, the
 * virtual user does what Chromium does; test/integration/chromium-jar.test.ts
 * checks each rule against the real browser.
 *
 * - Max-Age counts from RECEIPT (RFC 6265 §5.2.2: expiry = now + delta at
 *   storage). tough-cookie 6 computes it from the cookie's last access, so
 *   every request pushed a 1 s cookie's death back and it never expired
 *   under steady traffic. We store Max-Age as the absolute Expires it means.
 * - Expiry is capped at 400 days from receipt (RFC 6265bis §5.5, Chromium).
 * - An overwritten cookie takes a new creation time, so it moves to the end
 *   of its path group in the Cookie header (RFC 6265 keeps the old one).
 * - Past 180 cookies on one registrable domain, the oldest are evicted down
 *   to 150 (Chromium's kDomainMaxCookies / kDomainPurgeCookies); tough-cookie
 *   has no limit.
 * - A SameSite=None cookie without Secure is refused, over http and https
 *   alike (Chromium since M80, RFC 6265bis §5.6 step 18); tough-cookie keeps it.
 */
import { Cookie, getPublicSuffix, type CookieJar } from 'tough-cookie';

export const MAX_COOKIE_LIFETIME_MS = 400 * 24 * 3600_000;
export const DOMAIN_MAX_COOKIES = 180;
export const DOMAIN_PURGE_COOKIES = 150;

/** `cookie` with its Max-Age turned into the Expires it means at `now`, capped at 400 days. */
export function expiryFromReceipt(cookie: Cookie, now: number): Cookie {
  const cap = now + MAX_COOKIE_LIFETIME_MS;
  if (typeof cookie.maxAge === 'number') {
    cookie.expires = new Date(cookie.maxAge <= 0 ? 0 : Math.min(cap, now + cookie.maxAge * 1000));
    cookie.maxAge = null;
  } else if (cookie.expires instanceof Date && cookie.expires.getTime() > cap) {
    cookie.expires = new Date(cap);
  }
  return cookie;
}

const registrable = (domain: string | null) => (domain ? (getPublicSuffix(domain, { allowSpecialUseDomain: true, ignoreError: true }) ?? domain) : '');

/**
 * Stores `cookie` (parsed from a Set-Cookie header received from `url` at
 * `now`) the way Chromium would. Returns the stored cookie, or undefined
 * when the jar ignored it; throws what tough-cookie throws for a cookie it rejects.
 */
export function storeLikeChromium(jar: CookieJar, cookie: Cookie, url: string, now: number): Cookie | undefined {
  if (cookie.sameSite?.toLowerCase() === 'none' && !cookie.secure) throw new Error('SameSite=None without Secure (Chromium refuses it)');
  const stored = jar.setCookieSync(expiryFromReceipt(cookie, now), url, { now: new Date(now) });
  if (!stored) return undefined;
  stored.creation = new Date(now);
  // A fresh Cookie is the public way to draw the next creation index.
  stored.creationIndex = new Cookie().creationIndex;
  evict(jar, registrable(stored.domain), now);
  return stored;
}

function evict(jar: CookieJar, site: string, now: number): void {
  let all: Cookie[] = [];
  void jar.store.getAllCookies((error, cookies) => {
    if (!error && cookies) all = cookies;
  });
  const mine = all.filter((c) => registrable(c.domain) === site);
  if (mine.length <= DOMAIN_MAX_COOKIES) return;
  // Expired first, then the oldest (getAllCookies sorts by creation).
  const live = (c: Cookie) => !(c.expires instanceof Date) || c.expires.getTime() > now;
  const order = [...mine.filter((c) => !live(c)), ...mine.filter(live)];
  for (const victim of order.slice(0, mine.length - DOMAIN_PURGE_COOKIES)) {
    void jar.store.removeCookie(victim.domain, victim.path, victim.key, () => undefined);
  }
}
