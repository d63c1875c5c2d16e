import { setCookieList } from '../util/cookie-header.js';
import type { FaultDefinition } from './fault.js';

/**
 * Joins several Set-Cookie headers into one, comma-separated, as a proxy
 * that treats Set-Cookie like any list header does (node-http-proxy #1101).
 * A client reads that as one cookie: the others are lost.
 */
export const mergeSetCookie: FaultDefinition = {
  name: 'merge-set-cookie',
  usage: 'merge-set-cookie',
  description: 'merge several Set-Cookie headers into one (node-http-proxy #1101)',
  create: () => ({
    onResponse(res) {
      const list = setCookieList(res);
      if (list.length < 2) return undefined;
      res.headers['set-cookie'] = [list.join(', ')];
      return { note: `merged ${list.length} Set-Cookie headers into one` };
    },
  }),
};
