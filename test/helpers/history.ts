/**
 * Hand-written histories for diagnosis tests: a few fields per request,
 * the rest filled the way the runner fills them from a healthy hop.
 */
import { SESSION_DEFAULTS, type SessionSettings } from '../../servers/config.js';
import { sessionIdHash } from '../../servers/session/session-id.js';
import type { FaultNote } from '../../harness/balancer/proxy.js';
import type { ClusterEvent, History, RequestRecord, Topology } from '../../harness/history/history.js';

export interface Hop {
  step: number;
  request?: string;
  backend: string;
  status?: number;
  /** X-Session-Status the backend answered. */
  session: string;
  /** Session id in the jar before the request. */
  jar?: string;
  /** Session id the client sent (defaults to `jar`); null: sent none. */
  sent?: string | null;
  /** New id issued by the backend, if any. */
  issued?: string;
  /** The client did not end up holding the issued id. */
  lost?: boolean;
  /** X-Session-User the backend answered. */
  user?: string;
  /** X-Session-Write (default: set when issued, touch when loaded). */
  write?: string;
  /** X-Session-Cookie (default: sent when issued). */
  cookie?: string;
  expiredBy?: string;
  /** ms since the start of the history (default: step × 10). */
  at?: number;
  resetExpected?: boolean | string;
  /** Cookie header the balancer forwarded (default: what the client sent). */
  proxyCookieOut?: string;
  /** Set-Cookie headers the balancer passed on (default: all of the backend's). */
  proxySetCookieOut?: string[];
  faults?: FaultNote[];
  forwardedProto?: string;
  refused?: { name: string; reason: string }[];
  withheld?: string;
  user_?: number;
  run?: number;
  browser?: number;
  /** Session id in the jar after the response, when another answer changed it (null: none). */
  after?: string | null;
  /** How long the request took, ms (default 1). */
  duration?: number;
  /** Max-Age of the session cookie the backend sent, seconds. */
  maxAge?: number;
  /** When the jar's session cookie expires, ms since the start of the history. */
  jarExpiresAt?: number;
  /** What the backend measured and its limit, for an expired session (X-Session-Expired-After / -Limit). */
  expiredAfterMs?: number;
  expiredLimitMs?: number;
}

export function record(hop: Hop): RequestRecord {
  const [method, path] = (hop.request ?? 'GET /drafts').split(' ');
  const sent = hop.sent === null ? undefined : (hop.sent ?? hop.jar);
  const maxAge = hop.maxAge !== undefined ? `; Max-Age=${hop.maxAge}` : '';
  const setCookie = hop.issued
    ? [`csrf=t; Path=/; SameSite=Lax`, `sid=${hop.issued}; Path=/; HttpOnly; SameSite=Lax${maxAge}`]
    : hop.session === 'destroyed'
      ? ['sid=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax']
      : [];
  const fallback = hop.session === 'destroyed' && !hop.lost ? undefined : hop.issued && !hop.lost ? hop.issued : hop.jar;
  const after = hop.after === null ? undefined : (hop.after ?? fallback);
  const backendId = hop.session === 'destroyed' ? undefined : (hop.issued ?? (hop.session === 'loaded' ? hop.jar : undefined));
  const time = START + (hop.at ?? hop.step * 10);
  const expires = hop.jarExpiresAt !== undefined ? new Date(START + hop.jarExpiresAt).toISOString() : null;
  const id = `t.${hop.user_ ?? 1}.${hop.run ?? 1}.${hop.step}`;
  return {
    user: hop.user_ ?? 1,
    run: hop.run ?? 1,
    browser: hop.browser ?? 1,
    step: hop.step,
    stepName: hop.request ?? 'GET /drafts',
    method,
    path,
    url: `http://shop.example.test${path}`,
    requestId: id,
    time,
    durationMs: hop.duration ?? 1,
    cookieSent: sent ? `sid=${sent}` : undefined,
    sessionIdSent: sent,
    sessionIdInJar: hop.jar,
    withheld: hop.withheld,
    status: hop.status ?? 200,
    // A lost cookie never reached the client, unless the client refused it.
    setCookie: hop.proxySetCookieOut ?? (hop.lost && !hop.refused ? setCookie.filter((h) => !h.startsWith('sid=')) : setCookie),
    requestBody: undefined,
    responseBody: undefined,
    refused: hop.refused ?? [],
    sessionIdAfter: after,
    jarAfter: after ? [{ name: 'sid', value: after, domain: 'shop.example.test', path: '/', secure: false, httpOnly: true, hostOnly: true, sameSite: 'lax', expires }] : [],
    backend: hop.backend,
    sessionStatus: hop.session,
    sessionUser: hop.user,
    backendSessionHash: backendId ? sessionIdHash(backendId) : undefined,
    storeWrite: hop.write ?? (hop.issued ? 'set' : hop.session === 'loaded' ? 'touch' : 'none'),
    sessionCookie: hop.cookie ?? (hop.issued ? 'sent' : 'none'),
    expiredBy: hop.expiredBy,
    expiredAfterMs: hop.expiredAfterMs,
    expiredLimitMs: hop.expiredLimitMs,
    proxy: {
      time,
      requestId: id,
      method,
      path,
      scheme: 'http',
      backend: hop.backend,
      clientAddress: '127.0.0.1',
      cookieIn: sent ? `sid=${sent}` : undefined,
      cookieOut: hop.proxyCookieOut ?? (sent ? `sid=${sent}` : undefined),
      forwardedProto: hop.forwardedProto ?? 'http',
      setCookie,
      setCookieOut: hop.proxySetCookieOut ?? setCookie,
      faults: hop.faults ?? [],
      status: hop.status ?? 200,
      durationMs: hop.duration ?? 1,
    },
    resetExpected: hop.resetExpected ?? false,
    failures: [],
  };
}

/** Epoch ms of the history's start: `at` and event times count from it. */
export const START = 1_000_000;

/** A cluster event `at` ms after the start. */
export function event(kind: ClusterEvent['kind'], at: number, more: Partial<ClusterEvent> = {}): ClusterEvent {
  return { kind, time: START + at, ...more };
}

export function history(store: Topology['store'], hops: Hop[], session: Partial<SessionSettings> = {}, events: ClusterEvent[] = []): History {
  return {
    topology: {
      store,
      balancer: 'round-robin',
      launcher: 'reference',
      backends: ['app-1', 'app-2', 'app-3'],
      cookieName: 'sid',
      https: false,
      site: 'shop.example.test',
      session: { ...SESSION_DEFAULTS, ...session },
      faults: [],
    },
    requests: hops.map(record),
    proxy: [],
    backendLog: [],
    events: [event('run-started', 0), ...events],
  };
}
