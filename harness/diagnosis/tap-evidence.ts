/**
 * Evidence from a backend's recording tap, for resets behind a balancer the
 * harness cannot look into (nginx, HAProxy): the balancer is a black box,
 * but its two sides are recorded — what the client sent and received, what
 * the backend received and returned — so a cookie lost between them was
 * lost at the balancer. Cookie names only: values never go into evidence.
 */
import type { RequestRecord } from '../history/history.js';
import { cookieName as nameOf, cookiePairs } from '../util/cookie-header.js';

const cookieNames = (header: string | undefined) => (header === undefined ? [] : cookiePairs(header).map(nameOf));
const setCookieNames = (headers: readonly string[]) => headers.map((h) => h.split('=')[0].trim());

function list(names: readonly string[], what: string, none: string): string {
  return names.length ? `${what} ${names.join(', ')}` : none;
}

/** ` — at the balancer (nginx): app-2's tap saw …`, or nothing without a tap record. */
export function tapEvidence(r: RequestRecord, balancer: string): string {
  const tap = r.tap;
  if (!tap) return '';
  const received = list(cookieNames(tap.cookie), 'a Cookie header with', 'no Cookie header');
  const returned = list(setCookieNames(tap.setCookie), 'Set-Cookie', 'no Set-Cookie');
  const clientGot = list(setCookieNames(r.setCookie), 'Set-Cookie', 'no Set-Cookie');
  const proto = tap.forwardedProto === undefined ? 'no X-Forwarded-Proto' : `X-Forwarded-Proto ${tap.forwardedProto}`;
  return ` — at the balancer (${balancer}): ${tap.backend}'s tap saw the request arrive with ${received} and ${proto}, and the answer leave with ${returned}; the client sent ${list(cookieNames(r.cookieSent), 'a Cookie header with', 'no Cookie header')} and received ${clientGot}`;
}
