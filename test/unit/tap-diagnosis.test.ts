/**
 * Behind a black-box balancer (nginx, HAProxy) the balancer record is read
 * off the client's record and the backend's tap: the diagnosis then names
 * the hop that lost the cookie, "at the balancer", from the tap.
 */
import { describe, expect, test } from 'vitest';
import { diagnose } from '../../harness/diagnosis/diagnose.js';
import type { History, RequestRecord, TapRecord } from '../../harness/history/history.js';
import { proxyRecordFromTap } from '../../harness/tap/join.js';
import { history, type Hop } from '../helpers/history.js';

/** The record as the runner builds it behind nginx: no balancer record of its own, the tap's instead. */
function behindNginx(h: History, tapOf: (r: RequestRecord) => Partial<TapRecord>): History {
  h.topology.balancer = 'nginx';
  for (const r of h.requests) {
    const backendSaw = r.proxy!;
    r.tap = {
      time: r.time,
      requestId: r.requestId,
      backend: r.backend!,
      method: r.method,
      path: r.path,
      host: 'shop.example.test',
      cookie: backendSaw.cookieOut,
      forwardedProto: 'http',
      forwardedFor: '127.0.0.1',
      forwardedHost: 'shop.example.test',
      status: r.status,
      setCookie: backendSaw.setCookie,
      durationMs: 1,
      ...tapOf(r),
    };
    r.proxy = proxyRecordFromTap(r, r.tap);
  }
  return h;
}

const login: Hop[] = [
  { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: 'A' },
  { step: 2, request: 'POST /login', backend: 'app-2', session: 'created', jar: 'A', issued: 'B', user: 'alice', resetExpected: 'transmission' },
];

describe('diagnosis behind a black-box balancer, from the tap', () => {
  test('the client sent its sid, the tap saw no Cookie header: transmission at the balancer, names only in evidence', () => {
    const h = behindNginx(history('redis', login), (r) => (r.step === 2 ? { cookie: undefined } : {}));
    const [verdict, ...rest] = diagnose(h);
    expect(rest).toEqual([]);
    expect(verdict.cause).toBe('transmission');
    expect(verdict.evidence).toMatch(/^client sent sid#[0-9a-f]+, app-2 received no sid cookie — at the balancer \(nginx\): app-2's tap saw the request arrive with no Cookie header/);
    expect(verdict.evidence).toContain('the client sent a Cookie header with sid');
    expect(verdict.evidence).not.toMatch(/sid=A\b/);
  });

  test('the backend set sid, the client received no Set-Cookie: transmission at the balancer', () => {
    const hops: Hop[] = [
      { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: 'A', lost: true, proxySetCookieOut: [] },
      { step: 2, request: 'GET /drafts', backend: 'app-1', session: 'created', sent: null, issued: 'C', resetExpected: 'transmission' },
    ];
    const h = behindNginx(history('redis', hops), () => ({}));
    const [verdict] = diagnose(h);
    expect(verdict.cause).toBe('transmission');
    expect(verdict.evidence).toContain('the balancer passed on no separate sid cookie to the client — at the balancer (nginx)');
    expect(verdict.evidence).toContain('the answer leave with Set-Cookie csrf, sid; the client sent no Cookie header and received no Set-Cookie');
  });

  test('without a tap record the same loss stays unclassified: no hop is known to have lost it', () => {
    const h = history('redis', login);
    h.requests[1].proxy = undefined;
    const [verdict] = diagnose(h);
    expect(verdict.cause).toBe('unclassified');
  });
});
