import type { FaultDefinition } from './fault.js';

/** Drops X-Forwarded-Proto on the way to the backend: the app behind TLS termination then sees plain http. */
export const dropForwardedProto: FaultDefinition = {
  name: 'drop-forwarded-proto',
  usage: 'drop-forwarded-proto',
  description: 'do not send X-Forwarded-Proto to the backend',
  create: () => ({
    onProxyRequest(proxyReq) {
      const proto = proxyReq.getHeader('x-forwarded-proto');
      if (proto === undefined) return undefined;
      proxyReq.removeHeader('x-forwarded-proto');
      return { note: `dropped X-Forwarded-Proto: ${String(proto)}` };
    },
  }),
};
