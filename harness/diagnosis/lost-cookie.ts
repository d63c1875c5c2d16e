/**
 * A Set-Cookie the client never got: whether it arrived, and if not, the
 * hop that lost it — the backend withheld it, the balancer dropped it, the
 * client refused it — from the records of each.
 */
import type { RequestRecord } from '../history/history.js';
import type { DiagnosisContext, Finding } from './context.js';
import { tapEvidence } from './tap-evidence.js';
import { describe, hashOf } from './trace.js';

/** What the balancer did to the request, in its words: the faults that acted, or the tap's two sides. */
export function balancerNotes(r: RequestRecord, balancer: string): string {
  const notes = r.proxy?.faults ?? [];
  // Behind a black-box balancer the tap's record is the evidence of what it did.
  return notes.length ? ` (${notes.map((f) => `fault ${f.fault}: ${f.note}`).join('; ')})` : tapEvidence(r, balancer);
}

/** The client received a Set-Cookie for session `hash` and kept it (whatever answers changed the jar after). */
export function delivered(r: RequestRecord, cookieName: string, hash: string): boolean {
  if (r.refused.some((c) => c.name === cookieName)) return false;
  return r.setCookie.some((header) => {
    const eq = header.indexOf('=');
    if (header.slice(0, eq).trim() !== cookieName) return false;
    const value = header
      .slice(eq + 1)
      .split(';')[0]
      .trim();
    return value !== '' && hashOf(decodeURIComponent(value)) === hash;
  });
}

/** The Max-Age or Expires attribute the client received for cookie `name`=`value`, as written. */
export function lifetimeAttribute(r: RequestRecord | undefined, name: string, value: string): string | undefined {
  const header = r?.setCookie.find((h) => h.trimStart().startsWith(`${name}=${value}`));
  if (!header) return undefined;
  return header
    .split(';')
    .slice(1)
    .map((a) => a.trim())
    .find((a) => /^max-age=/i.test(a) || /^expires=/i.test(a));
}

/** The backend ended request `r` with session `hash`, which the client never got: where was it lost? */
export function lostSetCookie(context: DiagnosisContext, r: RequestRecord, hash: string): Finding {
  const { cookieName, session, balancer } = context;
  const made = { session: hash, backend: r.backend, step: r.step, request: describe(r), ...(r.sessionUser ? { user: r.sessionUser } : {}) };
  if (r.sessionCookie === 'withheld-insecure') {
    let why = 'it saw the request as plain http';
    if (r.proxy?.faults.some((f) => f.fault.startsWith('drop-forwarded-proto'))) why = `the balancer dropped X-Forwarded-Proto${balancerNotes(r, balancer)}, so it saw plain http`;
    else if (r.proxy?.fromTap && r.proxy.scheme === 'https' && !r.proxy.forwardedProto) why = `the balancer sent no X-Forwarded-Proto, so it saw plain http${balancerNotes(r, balancer)}`;
    else if (!session.trustProxy && r.proxy?.forwardedProto?.includes('https')) why = `it does not trust the proxy's X-Forwarded-Proto: https (trust proxy off), so it saw plain http`;
    else if (r.proxy?.scheme === 'http') why = 'the request came over http';
    return { cause: 'transmission', facts: { kind: 'set-cookie-lost', made, cookie: cookieName, how: 'withheld-insecure', why } };
  }
  const fromBackend = r.proxy?.setCookie.some((h) => h.trimStart().startsWith(`${cookieName}=`));
  const passedOn = r.proxy?.setCookieOut.some((h) => h.trimStart().startsWith(`${cookieName}=`));
  if (fromBackend && r.proxy && !passedOn) {
    return { cause: 'transmission', facts: { kind: 'set-cookie-lost', made, cookie: cookieName, how: 'balancer', balancer: balancerNotes(r, balancer) } };
  }
  if (r.refused.some((c) => c.name === cookieName) || (r.refused.length && fromBackend)) {
    return { cause: 'transmission', facts: { kind: 'set-cookie-lost', made, cookie: cookieName, how: 'refused', refusals: r.refused } };
  }
  return { cause: 'unclassified', facts: { kind: 'set-cookie-lost', made, cookie: cookieName, how: 'unrecorded' } };
}
