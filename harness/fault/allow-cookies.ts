import { cookieName, cookiePairs, keepCookies } from '../util/cookie-header.js';
import { isCookieName } from '../util/token.js';
import type { FaultDefinition } from './fault.js';

/** Forwards only the listed cookies: a CDN cookie allow-list (CloudFront's whitelist) missing the session cookie. */
export const allowCookies: FaultDefinition = {
  name: 'allow-cookies',
  usage: 'allow-cookies=NAME[,NAME…]',
  description: 'forward only the listed cookies (a CDN cookie allow-list)',
  create(value) {
    const allowed = new Set(
      (value ?? '')
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    );
    if (allowed.size === 0 || ![...allowed].every(isCookieName)) throw 'expected a comma-separated list of cookie names, e.g. allow-cookies=csrf,theme';
    return {
      onRequest(req) {
        const header = req.headers.cookie;
        if (!header) return undefined;
        const dropped = cookiePairs(header)
          .map(cookieName)
          .filter((name) => !allowed.has(name));
        if (dropped.length === 0) return undefined;
        const kept = keepCookies(header, (name) => allowed.has(name));
        if (kept) req.headers.cookie = kept;
        else delete req.headers.cookie;
        return { note: `forwarded only ${[...allowed].join(', ')}; dropped ${dropped.join(', ')}` };
      },
    };
  },
};
