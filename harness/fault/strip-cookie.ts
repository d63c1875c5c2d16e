import type { FaultDefinition } from './fault.js';

/** Removes the request's Cookie header: a CDN behaviour with cookie forwarding off. */
export const stripCookie: FaultDefinition = {
  name: 'strip-cookie',
  usage: 'strip-cookie',
  description: "remove the request's Cookie header (CDN with cookie forwarding off)",
  create: () => ({
    onRequest(req) {
      const header = req.headers.cookie;
      if (!header) return undefined;
      delete req.headers.cookie;
      return { note: `removed the Cookie header (${Buffer.byteLength(header)} bytes)` };
    },
  }),
};
