import { setCookieList } from '../util/cookie-header.js';
import type { FaultDefinition } from './fault.js';

/** Removes Set-Cookie from the backend's response: a CDN caching or forwarding without cookies. */
export const stripSetCookie: FaultDefinition = {
  name: 'strip-set-cookie',
  usage: 'strip-set-cookie',
  description: 'remove Set-Cookie headers from responses (CDN with cookie forwarding off)',
  create: () => ({
    onResponse(res) {
      const list = setCookieList(res);
      if (list.length === 0) return undefined;
      delete res.headers['set-cookie'];
      return { note: `removed ${list.length} Set-Cookie header${list.length > 1 ? 's' : ''}` };
    },
  }),
};
