/**
 * Hand-written histories for diagnosis tests: a few fields per request,
 * the rest filled the way the runner fills them.
 */
import type { History, RequestRecord, Topology } from '../../harness/history/history.js';

export interface Hop {
  step: number;
  request?: string;
  backend: string;
  status?: number;
  /** X-Session-Status the backend answered. */
  session: string;
  /** Session id in the jar before the request. */
  jar?: string;
  /** Session id the client sent (defaults to `jar`). */
  sent?: string | null;
  /** New id issued by Set-Cookie, if any. */
  issued?: string;
  /** X-Session-User the backend answered. */
  user?: string;
  resetExpected?: boolean;
  proxyCookieOut?: string;
  user_?: number;
  run?: number;
}

export function record(hop: Hop, time: number): RequestRecord {
  const [method, path] = (hop.request ?? 'GET /drafts').split(' ');
  const sent = hop.sent === null ? undefined : (hop.sent ?? hop.jar);
  const setCookie = hop.issued ? [`sid=${hop.issued}; Path=/; HttpOnly; SameSite=Lax`] : [];
  const after = hop.session === 'destroyed' ? undefined : (hop.issued ?? hop.jar);
  return {
    user: hop.user_ ?? 1,
    run: hop.run ?? 1,
    step: hop.step,
    stepName: hop.request ?? 'GET /drafts',
    method,
    path,
    url: `http://127.0.0.1:8080${path}`,
    requestId: `t.${hop.user_ ?? 1}.${hop.run ?? 1}.${hop.step}`,
    time,
    durationMs: 1,
    cookieSent: sent ? `sid=${sent}` : undefined,
    sessionIdSent: sent,
    sessionIdInJar: hop.jar,
    status: hop.status ?? 200,
    setCookie,
    sessionIdAfter: after,
    jarAfter: [],
    backend: hop.backend,
    sessionStatus: hop.session,
    sessionUser: hop.user,
    proxy: {
      time,
      requestId: `t.${hop.step}`,
      method,
      path,
      backend: hop.backend,
      cookieIn: sent ? `sid=${sent}` : undefined,
      cookieOut: hop.proxyCookieOut ?? (sent ? `sid=${sent}` : undefined),
      setCookie,
      status: hop.status ?? 200,
      durationMs: 1,
    },
    resetExpected: hop.resetExpected ?? false,
    failures: [],
  };
}

export function history(store: Topology['store'], hops: Hop[]): History {
  return {
    topology: { store, balancer: 'round-robin', backends: ['app-1', 'app-2', 'app-3'], cookieName: 'sid' },
    requests: hops.map((hop, i) => record(hop, 1000 + i * 10)),
    proxy: [],
    backendLog: [],
    events: [],
  };
}
