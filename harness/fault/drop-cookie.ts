import { cookiePairs, keepCookies } from '../util/cookie-header.js';
import { isCookieName } from '../util/token.js';
import type { FaultDefinition } from './fault.js';

/** Drops one named cookie from the request: a proxy rule or allow-list that forgot it. */
export const dropCookie: FaultDefinition = {
  name: 'drop-cookie',
  usage: 'drop-cookie=NAME',
  description: 'drop the named cookie from requests (a proxy cookie rule)',
  create(value) {
    if (!value || !isCookieName(value)) throw 'expected a cookie name, e.g. drop-cookie=sid';
    return {
      onRequest(req) {
        const header = req.headers.cookie;
        if (!header) return undefined;
        const kept = keepCookies(header, (name) => name !== value);
        if (kept !== undefined && cookiePairs(kept).length === cookiePairs(header).length) return undefined;
        if (kept) req.headers.cookie = kept;
        else delete req.headers.cookie;
        return { note: `dropped cookie ${value}` };
      },
    };
  },
};
