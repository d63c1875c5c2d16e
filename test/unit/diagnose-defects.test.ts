/**
 * Regression tests for the five defect kinds an independent matrix found in
 * the diagnosis (issue 12), each on a hand-built history: no sockets.
 */
import { describe, expect, test } from 'vitest';
import { diagnose } from '../../harness/diagnosis/diagnose.js';
import { sessionIdHash } from '../../servers/session/session-id.js';
import { event, history } from '../helpers/history.js';

const A = 'AAAAAAAAAAAAAAAAAAAAAA';
const B = 'BBBBBBBBBBBBBBBBBBBBBB';
const C = 'CCCCCCCCCCCCCCCCCCCCCC';
const D = 'DDDDDDDDDDDDDDDDDDDDDD';
const sid = (id: string) => `sid#${sessionIdHash(id)}`;
const strip = [{ fault: 'strip-set-cookie@0.2', note: 'removed 2 Set-Cookie headers' }];

describe('1. concurrent requests of one user: each request judged by the id it carried', () => {
  test('a concurrent answer that replaced the jar is not a lost cookie: replication, for each id', () => {
    const verdicts = diagnose(
      history('memory', [
        { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A, at: 0 },
        { step: 2, request: 'POST /login', backend: 'app-1', session: 'loaded', jar: A, issued: B, user: 'alice', at: 10 },
        // together: step 3 loads B on app-1 but answers last, after step 4's new id C was stored
        { step: 3, backend: 'app-1', session: 'loaded', jar: B, user: 'alice', at: 30, duration: 20, after: C },
        { step: 4, backend: 'app-2', session: 'unknown-id', jar: B, issued: C, at: 31, duration: 5 },
        { step: 5, backend: 'app-3', session: 'unknown-id', jar: C, issued: D, at: 60 },
      ]),
    );
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([
      [4, 'replication'],
      [5, 'replication'],
    ]);
    expect(verdicts[1].evidence).toContain(`${sid(C)} created on app-2 at step 4`);
  });

  test('a request that loaded its session fine is not reset because a concurrent answer changed the jar', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice', at: 0 },
        { step: 2, backend: 'app-1', session: 'loaded', jar: A, user: 'alice', at: 20, duration: 30, after: B },
        { step: 3, request: 'POST /profile', backend: 'app-2', session: 'loaded', jar: A, issued: B, user: 'alice', at: 21, duration: 5 },
        { step: 4, backend: 'app-2', session: 'loaded', jar: B, user: 'alice', at: 80 },
      ]),
    );
    expect(verdicts).toEqual([]);
  });
});

describe('2. a lost login is traced back through the hop that lost it', () => {
  test('the login answer lost its Set-Cookie at the balancer; the old anonymous id loads elsewhere: transmission', () => {
    const verdicts = diagnose(
      history('memory', [
        { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A },
        { step: 2, request: 'POST /login', backend: 'app-2', session: 'unknown-id', jar: A, issued: B, user: 'alice', lost: true, proxySetCookieOut: [], faults: strip },
        { step: 3, backend: 'app-1', session: 'loaded', jar: A },
      ]),
    );
    const third = verdicts.find((v) => v.step === 3);
    expect(third?.cause).toBe('transmission');
    expect(third?.evidence).toContain('strip-set-cookie');
    expect(verdicts.every((v) => v.cause !== 'unclassified')).toBe(true);
  });
});

describe('3. a session ended by the user is not reset again', () => {
  test('logout whose clearing Set-Cookie was stripped: one reset (the logout), not two', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A },
        { step: 2, request: 'POST /login', backend: 'app-2', session: 'loaded', jar: A, issued: B, user: 'alice' },
        {
          step: 3,
          request: 'POST /logout',
          backend: 'app-1',
          session: 'destroyed',
          jar: B,
          cookie: 'cleared',
          write: 'destroy',
          lost: true,
          proxySetCookieOut: [],
          faults: strip,
          resetExpected: 'code',
        },
        { step: 4, backend: 'app-2', session: 'unknown-id', jar: B, issued: C, status: 401 },
      ]),
    );
    expect(verdicts.map((v) => [v.step, v.cause, v.expected])).toEqual([[3, 'code', true]]);
  });
});

describe('3b. a stale id comes back', () => {
  test('a login and a retry both lost, then a logout whose clearing was stripped: the loss once, the logout once', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A },
        { step: 2, request: 'POST /login', backend: 'app-2', session: 'loaded', jar: A, issued: B, user: 'alice', lost: true, proxySetCookieOut: [], faults: strip },
        { step: 3, backend: 'app-1', session: 'unknown-id', jar: A, issued: C, lost: true, proxySetCookieOut: [], faults: strip },
        { step: 4, request: 'POST /logout', backend: 'app-2', session: 'destroyed', jar: A, write: 'destroy', lost: true, proxySetCookieOut: [], faults: strip, resetExpected: 'code' },
        { step: 5, backend: 'app-1', session: 'unknown-id', jar: A, issued: D },
      ]),
    );
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([
      [3, 'transmission'],
      [4, 'code'],
    ]);
  });

  test('a request in flight while another replaced its id (regenerate) lost the session: code, naming the race', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice', at: 0 },
        { step: 2, request: 'POST /profile', backend: 'app-1', session: 'loaded', jar: A, issued: B, user: 'alice', at: 20, duration: 30 },
        { step: 3, backend: 'app-2', session: 'unknown-id', jar: A, issued: C, at: 21, duration: 40, after: C },
      ]),
    );
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([[3, 'code']]);
    expect(verdicts[0].evidence).toContain('replaced by a new id at step 2');
  });
});

describe('4. concurrent causes ordered by recorded time', () => {
  const hops = [
    { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A, at: 0 },
    { step: 2, request: 'POST /login', backend: 'app-1', session: 'loaded', jar: A, issued: B, user: 'alice', at: 100 },
    { step: 3, backend: 'app-1', session: 'loaded', jar: B, user: 'alice', at: 476 },
    { step: 4, backend: 'app-1', session: 'unknown-id', jar: B, issued: C, at: 2000 },
  ];
  test('store TTL ran out before Redis restarted empty: expiry, not replication', () => {
    const verdicts = diagnose(history('redis', hops, { ttlMs: 600 }, [event('redis-restarted', 1800, { fault: 'restart-redis@1800ms' })]));
    expect(verdicts.map((v) => v.cause)).toEqual(['expiry']);
    expect(verdicts[0].evidence).toContain('before');
  });
  test('store TTL ran out before a rolling restart of the backend that held it: expiry', () => {
    const verdicts = diagnose(history('memory', hops, { ttlMs: 600 }, [event('backend-restarted', 1800, { backend: 'app-1', fault: 'rolling-restart' })]));
    expect(verdicts.map((v) => v.cause)).toEqual(['expiry']);
  });
  test('the restart came while the session was alive: replication', () => {
    const verdicts = diagnose(history('redis', hops, { ttlMs: 600 }, [event('redis-restarted', 700, { fault: 'restart-redis@700ms' })]));
    expect(verdicts.map((v) => v.cause)).toEqual(['replication']);
  });
  test('a session that expired before its request was routed to a backend that never had it: expiry first', () => {
    const verdicts = diagnose(history('memory', [...hops.slice(0, 3), { step: 4, backend: 'app-2', session: 'unknown-id', jar: B, issued: C, at: 2000 }], { ttlMs: 600 }));
    expect(verdicts.map((v) => v.cause)).toEqual(['expiry']);
  });
});

describe('5. every time and limit in evidence comes from recorded values', () => {
  test("the cookie's own Max-Age=1, not the configured 1.2 s", () => {
    const verdicts = diagnose(
      history(
        'redis',
        [
          { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A, maxAge: 1, jarExpiresAt: 1010, at: 0 },
          { step: 2, request: 'POST /login', backend: 'app-1', session: 'loaded', jar: A, issued: B, user: 'alice', maxAge: 1, jarExpiresAt: 1110, at: 100 },
          { step: 3, backend: 'app-2', session: 'created', jar: undefined, issued: C, at: 1500 },
        ],
        { cookieMaxAgeMs: 1200 },
      ),
    );
    expect(verdicts.map((v) => v.cause)).toEqual(['expiry']);
    expect(verdicts[0].evidence).toContain('Max-Age=1');
    expect(verdicts[0].evidence).not.toContain('1.2 s');
  });

  test('idle time and limit as the backend measured them, so the evidence cannot contradict itself', () => {
    const verdicts = diagnose(
      history(
        'redis',
        [
          { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice', at: 0 },
          { step: 2, backend: 'app-1', session: 'loaded', jar: A, user: 'alice', at: 300 },
          // The client's clock says 683 ms since its last request; the backend measured 1040 ms idle.
          { step: 3, backend: 'app-2', session: 'expired', jar: A, expiredBy: 'idle', expiredAfterMs: 1040, expiredLimitMs: 1000, issued: B, at: 983 },
        ],
        { idleTimeoutMs: 1000 },
      ),
    );
    expect(verdicts.map((v) => v.cause)).toEqual(['expiry']);
    const [, measured, limit] = /idle ([\d.]+ m?s) > limit ([\d.]+ m?s)/.exec(verdicts[0].evidence) ?? [];
    const ms = (text: string) => (text.endsWith(' ms') ? parseFloat(text) : parseFloat(text) * 1000);
    expect(ms(measured)).toBeGreaterThan(ms(limit));
  });
});

describe('3c. a logout racing a request of the same user', () => {
  // Sent before the logout, answered after it: the add reached the store after the logout's destroy.
  const race = (store: 'redis' | 'memory', addBackend: string, logoutAt: number) =>
    diagnose(
      history(store, [
        { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A, at: 0 },
        { step: 2, request: 'POST /login', backend: 'app-1', session: 'loaded', jar: A, issued: B, user: 'alice', at: 20 },
        { step: 3, request: 'POST /cart/items', backend: addBackend, session: 'unknown-id', jar: B, issued: C, at: 100, duration: 600, after: C },
        { step: 4, request: 'POST /logout', backend: 'app-1', session: 'destroyed', jar: B, cookie: 'cleared', write: 'destroy', at: logoutAt, duration: 20, resetExpected: 'code', after: null },
      ]),
    ).map((v) => [v.step, v.cause, v.expected]);

  test('shared store: the logout left while the add was on its way and got there first — one reset, the logout', () => {
    expect(race('redis', 'app-2', 200)).toEqual([[4, 'code', true]]);
  });
  test('memory: the add went to a backend that never had the session — replication, logout or not', () => {
    expect(race('memory', 'app-2', 200)).toEqual([
      [3, 'replication', false],
      [4, 'code', true],
    ]);
  });
  test('a logout sent after the add was answered explains nothing about it', () => {
    expect(race('redis', 'app-2', 800)[0]).toEqual([3, 'unclassified', false]);
  });
});
