/** The diagnosis over hand-written histories: no sockets, no processes. */
import { describe, expect, test } from 'vitest';
import { countByCause, diagnose } from '../../harness/diagnosis/diagnose.js';
import { sessionIdHash } from '../../servers/session/session-id.js';
import { history } from '../helpers/history.js';

const A = 'AAAAAAAAAAAAAAAAAAAAAA';
const B = 'BBBBBBBBBBBBBBBBBBBBBB';
const C = 'CCCCCCCCCCCCCCCCCCCCCC';

describe('diagnosis', () => {
  test('login on app-1, next request on app-2 with memory sessions: replication, with where the id was made', () => {
    const verdicts = diagnose(
      history('memory', [
        { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A },
        { step: 2, request: 'POST /login', backend: 'app-1', session: 'loaded', jar: A, issued: B, user: 'alice' },
        { step: 3, backend: 'app-2', session: 'unknown-id', jar: B, issued: C, status: 401 },
      ]),
    );
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatchObject({ user: 1, step: 3, request: 'GET /drafts', cause: 'replication', backend: 'app-2', expected: false });
    expect(verdicts[0].evidence).toContain(`sid#${sessionIdHash(B)} created on app-1 at step 2 (POST /login)`);
    expect(verdicts[0].evidence).toContain('routed to app-2, whose store never had it');
  });

  test('a healthy history has no verdicts, login rotation included', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A },
        { step: 2, request: 'POST /login', backend: 'app-2', session: 'loaded', jar: A, issued: B, user: 'alice' },
        { step: 3, backend: 'app-3', session: 'loaded', jar: B, user: 'alice' },
        { step: 4, backend: 'app-1', session: 'loaded', jar: B, user: 'alice' },
      ]),
    );
    expect(verdicts).toEqual([]);
  });

  test('the same unknown id in a shared store is never called replication', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice' },
        { step: 2, backend: 'app-2', session: 'unknown-id', jar: A, issued: B, status: 401 },
      ]),
    );
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0].cause).toBe('unclassified');
    expect(verdicts[0].evidence).toContain('the shared store had it');
    expect(verdicts[0].evidence).toContain('no restart or store loss');
  });

  test('a memory backend losing an id it once had is unclassified, naming what is missing', () => {
    const verdicts = diagnose(
      history('memory', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice' },
        { step: 2, backend: 'app-1', session: 'unknown-id', jar: A, issued: B, status: 401 },
      ]),
    );
    expect(verdicts.map((v) => v.cause)).toEqual(['unclassified']);
    expect(verdicts[0].evidence).toContain("app-1's own memory had it");
    expect(verdicts[0].evidence).toContain('no restart or store loss');
  });

  test('an id that no backend issued in the history is unclassified, not replication', () => {
    const verdicts = diagnose(history('memory', [{ step: 1, backend: 'app-2', session: 'unknown-id', jar: A, issued: B }]));
    expect(verdicts.map((v) => v.cause)).toEqual(['unclassified']);
    expect(verdicts[0].evidence).toContain('no backend in this history issued it');
  });

  test('the cookie was in the jar but not sent: transmission', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, backend: 'app-1', session: 'created', issued: A },
        { step: 2, backend: 'app-2', session: 'created', jar: A, sent: null, issued: B },
      ]),
    );
    expect(verdicts.map((v) => v.cause)).toEqual(['transmission']);
    expect(verdicts[0].evidence).toContain('the client did not send it');
  });

  test('the client sent it but the balancer forwarded none: transmission, from the balancer records', () => {
    const viaProxy = history('redis', [
      { step: 1, backend: 'app-1', session: 'created', issued: A },
      { step: 2, backend: 'app-2', session: 'created', jar: A, issued: B, proxyCookieOut: '' },
    ]);
    const [verdict] = diagnose(viaProxy);
    expect(verdict.cause).toBe('transmission');
    expect(verdict.evidence).toBe(`client sent sid#${sessionIdHash(A)}, app-2 received no sid cookie`);
  });

  test('logout destroys the session: cause code, marked expected when the scenario says so', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice' },
        { step: 2, request: 'POST /logout', backend: 'app-2', session: 'destroyed', jar: A, resetExpected: true },
        { step: 3, request: 'GET /', backend: 'app-3', session: 'created', issued: B },
      ]),
    );
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatchObject({ cause: 'code', step: 2, expected: true });
    expect(verdicts[0].evidence).toContain('app-2 destroyed the session');
  });

  test('an expired session is an expiry reset', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, backend: 'app-1', session: 'created', issued: A },
        { step: 2, backend: 'app-1', session: 'expired', jar: A, issued: B },
      ]),
    );
    expect(verdicts.map((v) => v.cause)).toEqual(['expiry']);
  });

  test('each user is diagnosed on their own sequence, and counts cover every cause', () => {
    const h = history('memory', [
      { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice', user_: 1 },
      { step: 1, request: 'POST /login', backend: 'app-2', session: 'created', issued: B, user: 'bob', user_: 2 },
      { step: 2, backend: 'app-1', session: 'loaded', jar: A, user: 'alice', user_: 1 },
      { step: 2, backend: 'app-3', session: 'unknown-id', jar: B, issued: C, user_: 2 },
    ]);
    const verdicts = diagnose(h);
    expect(verdicts.map((v) => [v.user, v.step, v.cause])).toEqual([[2, 2, 'replication']]);
    expect(countByCause(verdicts)).toEqual({ replication: 1, transmission: 0, code: 0, expiry: 0, unclassified: 0 });
  });

  test('a request with no response is not a reset', () => {
    const h = history('memory', [
      { step: 1, backend: 'app-1', session: 'created', issued: A },
      { step: 2, backend: 'app-2', session: 'unknown-id', jar: A },
    ]);
    h.requests[1].status = 0;
    h.requests[1].error = 'ECONNRESET';
    expect(diagnose(h)).toEqual([]);
  });

  describe('transmission: which hop lost the id', () => {
    test("a Secure cookie withheld on an http URL, in the client's words", () => {
      const [verdict] = diagnose(
        history('redis', [
          { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice' },
          { step: 2, backend: 'app-2', session: 'created', jar: A, sent: null, issued: B, withheld: 'Secure cookie sid withheld by the client: request URL is http (http://shop.example.test/drafts)' },
        ]),
      );
      expect(verdict).toMatchObject({ cause: 'transmission', evidence: 'Secure cookie sid withheld by the client: request URL is http (http://shop.example.test/drafts)' });
    });

    test('a backend that made a session but withheld its Secure cookie behind an untrusted proxy', () => {
      const verdicts = diagnose(
        history(
          'redis',
          [
            { step: 1, backend: 'app-1', session: 'created', issued: A, lost: true, cookie: 'withheld-insecure', forwardedProto: 'https' },
            { step: 2, backend: 'app-2', session: 'created', issued: B, lost: true, cookie: 'withheld-insecure', forwardedProto: 'https' },
          ],
          { trustProxy: false, secureCookie: 'on' },
        ),
      );
      expect(verdicts).toHaveLength(1);
      expect(verdicts[0]).toMatchObject({ step: 2, cause: 'transmission' });
      expect(verdicts[0].evidence).toContain('backend created a session but sent no Set-Cookie');
      expect(verdicts[0].evidence).toContain('trust proxy off');
    });

    test('a balancer that passed on no Set-Cookie, quoting its fault', () => {
      const [verdict] = diagnose(
        history('redis', [
          { step: 1, backend: 'app-1', session: 'created', issued: A, lost: true, proxySetCookieOut: [], faults: [{ fault: 'strip-set-cookie', note: 'removed 2 Set-Cookie headers' }] },
          { step: 2, backend: 'app-2', session: 'created', issued: B },
        ]),
      );
      expect(verdict.cause).toBe('transmission');
      expect(verdict.evidence).toContain('the balancer passed on no separate sid cookie to the client (fault strip-set-cookie: removed 2 Set-Cookie headers)');
    });

    test('a client that refused the cookie', () => {
      const [verdict] = diagnose(
        history('redis', [
          { step: 1, backend: 'app-1', session: 'created', issued: A, lost: true, refused: [{ name: 'sid', reason: 'the client refuses cookies' }] },
          { step: 2, backend: 'app-2', session: 'created', issued: B, lost: true, refused: [{ name: 'sid', reason: 'the client refuses cookies' }] },
        ]),
      );
      expect(verdict).toMatchObject({ step: 2, cause: 'transmission' });
      expect(verdict.evidence).toContain('the client did not store Set-Cookie sid: the client refuses cookies');
    });

    test('an id altered on the way is transmission, not an unknown session', () => {
      const [verdict] = diagnose(
        history('redis', [
          { step: 1, backend: 'app-1', session: 'created', issued: A },
          { step: 2, backend: 'app-2', session: 'unknown-id', jar: A, issued: B, proxyCookieOut: 'sid=AAAA' },
        ]),
      );
      expect(verdict.cause).toBe('transmission');
      expect(verdict.evidence).toContain('the balancer forwarded a different sid value');
    });
  });

  describe('expiry: which limit, with figures', () => {
    test('idle limit', () => {
      const [verdict] = diagnose(
        history(
          'redis',
          [
            { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice', at: 0 },
            { step: 2, backend: 'app-2', session: 'expired', expiredBy: 'idle', expiredAfterMs: 1300, expiredLimitMs: 1000, jar: A, issued: B, at: 1300 },
          ],
          { idleTimeoutMs: 1000 },
        ),
      );
      expect(verdict.evidence).toMatch(/^idle 1\.3 s > limit 1 s \(app-2 expired sid#/);
    });

    test('absolute limit, counted from the login', () => {
      const [verdict] = diagnose(
        history(
          'redis',
          [
            { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A, at: 0 },
            { step: 2, request: 'POST /login', backend: 'app-2', session: 'loaded', jar: A, issued: B, user: 'alice', at: 500 },
            { step: 3, backend: 'app-1', session: 'loaded', jar: B, user: 'alice', at: 1500 },
            { step: 4, backend: 'app-2', session: 'expired', expiredBy: 'absolute', expiredAfterMs: 2100, expiredLimitMs: 2000, jar: B, issued: C, at: 2600 },
          ],
          { absoluteTimeoutMs: 2000 },
        ),
      );
      expect(verdict.cause).toBe('expiry');
      expect(verdict.evidence).toMatch(/^since login 2\.1 s > limit 2 s/);
    });

    test('store TTL run out without rolling, though the cookie lives on', () => {
      const [verdict] = diagnose(
        history(
          'redis',
          [
            { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice', at: 0 },
            { step: 2, backend: 'app-2', session: 'loaded', jar: A, user: 'alice', write: 'none', at: 500 },
            { step: 3, backend: 'app-1', session: 'unknown-id', jar: A, issued: B, at: 1200 },
          ],
          { ttlMs: 1000, rolling: false, cookieMaxAgeMs: 60_000 },
        ),
      );
      expect(verdict).toMatchObject({ cause: 'expiry', step: 3 });
      expect(verdict.evidence).toContain('store TTL 1 s ran out');
      expect(verdict.evidence).toContain('last written at step 1, 1.199 s before this request (gone by 1.001 s)');
      expect(verdict.evidence).toContain('rolling is off, so the 1 read since did not refresh it');
    });
  });

  test('regenerate that keeps the login is not a reset; one that loses it is code', () => {
    const keeps = diagnose(
      history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice' },
        { step: 2, request: 'POST /profile', backend: 'app-2', session: 'loaded', jar: A, issued: B, user: 'alice' },
      ]),
    );
    expect(keeps).toEqual([]);
    const loses = diagnose(
      history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice' },
        { step: 2, request: 'POST /profile', backend: 'app-2', session: 'loaded', jar: A, issued: B },
      ]),
    );
    expect(loses.map((v) => [v.step, v.cause, v.evidence])).toEqual([[2, 'code', 'app-2 issued a new id at POST /profile and the login of alice was not kept']]);
  });

  test('two browsers of one user are diagnosed apart: a new session in the second is not a reset', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice', browser: 1 },
        { step: 2, request: 'POST /login', backend: 'app-2', session: 'created', issued: B, user: 'alice', browser: 2 },
        { step: 3, backend: 'app-1', session: 'loaded', jar: A, user: 'alice', browser: 1 },
        { step: 4, backend: 'app-2', session: 'loaded', jar: B, user: 'alice', browser: 2 },
      ]),
    );
    expect(verdicts).toEqual([]);
  });

  describe("faults during the run, from the history's events", () => {
    const event = (kind: string, backend: string | undefined, at: number, fault: string) => ({ time: 1_000_000 + at, kind, backend, fault }) as never;

    test('a sticky user re-pinned after its backend was killed: replication, naming the kill', () => {
      const h = history('memory', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice', at: 10 },
        { step: 2, backend: 'app-2', session: 'unknown-id', jar: A, issued: B, at: 100 },
      ]);
      h.events = [event('run-started', undefined, 0, ''), event('backend-killed', 'app-1', 50, 'kill-backend')];
      h.requests[1].proxy!.pin = 'repinned';
      h.requests[1].proxy!.pinnedBefore = 'app-1';
      const [verdict] = diagnose(h);
      expect(verdict.cause).toBe('replication');
      expect(verdict.evidence).toContain('app-1 was killed at 50 ms (fault kill-backend) and its sessions were in memory');
      expect(verdict.evidence).toContain('the balancer re-pinned the user from app-1 to app-2');
    });

    test('a backend restarted under its users: replication, "its sessions were in memory"', () => {
      const h = history('memory', [
        { step: 1, request: 'POST /login', backend: 'app-2', session: 'created', issued: A, user: 'alice', at: 10 },
        { step: 2, backend: 'app-2', session: 'unknown-id', jar: A, issued: B, at: 1300 },
      ]);
      h.events = [event('run-started', undefined, 0, ''), event('backend-restarted', 'app-2', 1200, 'restart-backend=app-2')];
      const [verdict] = diagnose(h);
      expect(verdict).toMatchObject({ cause: 'replication' });
      expect(verdict.evidence).toContain('app-2 was restarted at 1.2 s (fault restart-backend=app-2) and its sessions were in memory');
    });

    test('Redis restarted empty: every session lost, and the diagnosis says so', () => {
      const h = history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice', at: 10 },
        { step: 2, backend: 'app-2', session: 'unknown-id', jar: A, issued: B, at: 300 },
      ]);
      h.events = [event('run-started', undefined, 0, ''), event('redis-restarted', undefined, 200, 'restart-redis')];
      const [verdict] = diagnose(h);
      expect(verdict.cause).toBe('replication');
      expect(verdict.evidence).toContain('the shared store was restarted empty at 200 ms (fault restart-redis), and every session in it was lost');
    });

    test("a login cut off by its backend's crash after rotating the id: code, naming the crash", () => {
      const h = history('redis', [
        { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A, at: 0 },
        { step: 2, request: 'POST /login', backend: 'app-2', session: 'loaded', jar: A, at: 100 },
        { step: 3, backend: 'app-3', session: 'unknown-id', jar: A, issued: B, at: 300 },
      ]);
      Object.assign(h.requests[1], { status: 502, backend: undefined, sessionStatus: undefined, backendSessionHash: undefined, durationMs: 50 });
      h.events = [event('run-started', undefined, 0, ''), event('backend-killed', 'app-2', 120, 'kill-backend=app-2')];
      const [verdict] = diagnose(h);
      expect(verdict).toMatchObject({ step: 3, cause: 'code' });
      expect(verdict.evidence).toContain('step 2 (POST /login) was cut off when app-2 was killed at 120 ms');
    });
  });
});
