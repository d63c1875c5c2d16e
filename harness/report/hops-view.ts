/**
 * What each hop of one request carried, in words safe for an artefact:
 * session ids only as hashes (sid#…), other cookies by name only, never a
 * value. Shared by the HTML report's sequence diagrams and JUnit output.
 */
import { idHash } from '../history/redact.js';
import type { RequestRecord } from '../history/history.js';
import { cookieName, cookiePairs } from '../util/cookie-header.js';

const sid = (value: string) => `sid#${idHash(value)}`;

/** A Cookie header as `sid=sid#ab12cd34; csrf`: the session cookie hashed, others by name. */
export function cookieHeaderView(header: string | undefined, sessionCookie: string): string {
  if (!header) return 'no cookie';
  return cookiePairs(header)
    .map((pair) => {
      const name = cookieName(pair);
      return name === sessionCookie ? `${name}=${sid(pair.slice(name.length + 1))}` : name;
    })
    .join('; ');
}

/** Set-Cookie headers as `sid=sid#ab12cd34`, `csrf`, `sid cleared`. */
export function setCookieView(headers: readonly string[] | undefined, sessionCookie: string): string {
  if (!headers || headers.length === 0) return 'no Set-Cookie';
  return headers
    .flatMap((header) => {
      // A merged header (one proxy joins several with ", ") still names each cookie.
      const first = header.split(';')[0].trim();
      const name = cookieName(first);
      const value = first.slice(name.length + 1);
      if (name !== sessionCookie) return [name];
      return [value === '' ? `${name} cleared` : `${name}=${sid(value)}`];
    })
    .join(', ');
}

export interface HopView {
  /** client → balancer */
  request: string;
  /** balancer → backend, undefined when the balancer answered itself */
  forwarded: string | undefined;
  /** backend ↔ store */
  store: string | undefined;
  /** backend → balancer */
  backendAnswer: string | undefined;
  /** balancer → client */
  answer: string;
  faults: string[];
}

export function hopView(record: RequestRecord, sessionCookie: string): HopView {
  const proxy = record.proxy;
  const status = record.error ? `error: ${record.error}` : String(record.status);
  const withheld = record.withheld ? ` (withheld: ${record.withheld})` : '';
  return {
    request: `${record.method} ${record.path} · ${cookieHeaderView(record.cookieSent, sessionCookie)}${withheld}`,
    forwarded: proxy?.backend || record.backend ? `${cookieHeaderView(proxy ? proxy.cookieOut : record.cookieSent, sessionCookie)}` : undefined,
    store: record.sessionStatus
      ? `session ${record.sessionStatus}${record.sessionUser ? ` (${record.sessionUser})` : ''}${record.storeWrite && record.storeWrite !== 'none' ? ` · write ${record.storeWrite}` : ''}`
      : undefined,
    backendAnswer: proxy?.backend ? `${proxy.status} · ${setCookieView(proxy.setCookie, sessionCookie)}` : undefined,
    answer: `${status} · ${setCookieView(record.setCookie, sessionCookie)}`,
    faults: (proxy?.faults ?? []).map((f) => `${f.fault}: ${f.note}`),
  };
}
