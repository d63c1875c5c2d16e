import type { IncomingMessage } from 'node:http';

/**
 * X-Forwarded-For/-Proto/-Host as this balancer saw the request, overwriting
 * whatever the client sent: a balancer that passed a client's own
 * `X-Forwarded-Proto: https` through would let a plain-http client be
 * treated as secure (and get the Secure cookie) — real balancers are
 * configured to set them (HAProxy `http-request set-header`, nginx
 * `proxy_set_header`).
 */
export function overwriteForwarded(req: IncomingMessage, scheme: 'http' | 'https'): void {
  const headers = req.headers;
  // RFC 7239's Forwarded says the same things; the balancer does not set it, so none passes.
  if (headers.forwarded !== undefined) delete headers.forwarded;
  const address = req.socket.remoteAddress;
  if (address === undefined) delete headers['x-forwarded-for'];
  else headers['x-forwarded-for'] = address;
  headers['x-forwarded-proto'] = scheme;
  const host = headers.host;
  if (host === undefined) delete headers['x-forwarded-host'];
  else headers['x-forwarded-host'] = host;
  // The port the client asked for, as http-proxy's xfwd sets it: Host's, else the scheme's.
  const colon = host === undefined ? -1 : host.lastIndexOf(':');
  headers['x-forwarded-port'] = colon > 0 && !host!.endsWith(']') ? host!.slice(colon + 1) : scheme === 'https' ? '443' : '80';
}
