/**
 * Joining a backend's tap record to the client's record: behind a balancer
 * the harness cannot look into (nginx, HAProxy), what it did is read off
 * its two sides — what the client sent and received, and what the backend
 * received and returned — into the same balancer record the session-lab
 * balancer writes itself, so the diagnosis reasons about both alike.
 */
import type { ProxyRecord } from '../balancer/proxy.js';
import type { RequestRecord, TapRecord } from '../history/history.js';

type ClientSide = Pick<RequestRecord, 'url' | 'cookieSent' | 'setCookie'>;

export function proxyRecordFromTap(client: ClientSide, tap: TapRecord): ProxyRecord {
  return {
    time: tap.time,
    requestId: tap.requestId,
    method: tap.method,
    path: tap.path,
    scheme: client.url.startsWith('https:') ? 'https' : 'http',
    backend: tap.backend,
    // The balancer's own address towards the backend is not the client's; X-Forwarded-For names the client.
    clientAddress: tap.forwardedFor?.split(',')[0]?.trim(),
    cookieIn: client.cookieSent,
    cookieOut: tap.cookie,
    forwardedProto: tap.forwardedProto,
    setCookie: tap.setCookie,
    setCookieOut: client.setCookie,
    faults: [],
    status: tap.status,
    durationMs: tap.durationMs,
    ...(tap.error ? { error: tap.error } : {}),
    fromTap: true,
  };
}
