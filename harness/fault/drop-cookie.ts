import { cookieName, cookiePairs, type FaultDefinition } from './fault.js';

/** Drops one named cookie from the request: a proxy rule or allow-list that forgot it. */
export const dropCookie: FaultDefinition = {
  name: 'drop-cookie',
  usage: 'drop-cookie=NAME',
  description: 'drop the named cookie from requests (a proxy cookie rule)',
  create(value) {
    if (!value || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) throw 'expected a cookie name, e.g. drop-cookie=sid';
    return {
      onRequest(req) {
        const header = req.headers.cookie;
        if (!header) return undefined;
        const pairs = cookiePairs(header);
        const kept = pairs.filter((pair) => cookieName(pair) !== value);
        if (kept.length === pairs.length) return undefined;
        if (kept.length) req.headers.cookie = kept.join('; ');
        else delete req.headers.cookie;
        return { note: `dropped cookie ${value}` };
      },
    };
  },
};
