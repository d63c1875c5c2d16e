import type { IncomingHttpHeaders } from 'node:http';

/**
 * Cookie and Set-Cookie header plumbing shared by the balancer's faults and
 * strategies: order-preserving, unlike a parse into an object.
 */

/** Splits a Cookie header into `name=value` pairs (RFC 6265 §4.2.1: separated by "; "). */
export function cookiePairs(header: string): string[] {
  return header
    .split(';')
    .map((pair) => pair.trim())
    .filter(Boolean);
}

export function cookieName(pair: string): string {
  const eq = pair.indexOf('=');
  return eq < 0 ? pair : pair.slice(0, eq);
}

/** The Cookie header with only the cookies `keep` accepts, in order; undefined when none is left. */
export function keepCookies(header: string, keep: (name: string) => boolean): string | undefined {
  const kept = cookiePairs(header).filter((pair) => keep(cookieName(pair)));
  return kept.length ? kept.join('; ') : undefined;
}

/** A response's Set-Cookie headers as a list, however Node holds them. */
export function setCookieList(res: { headers: IncomingHttpHeaders }): string[] {
  const value = res.headers['set-cookie'];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
