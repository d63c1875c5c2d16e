/**
 * Regression tests for the diagnosis defects a second independent matrix
 * found (issue 12, round 8), each on a hand-built history: no sockets.
 * Each failed before its fix and names the rule it guards (RULES.md).
 */
import { describe, expect, test } from 'vitest';
import { diagnose } from '../../harness/diagnosis/diagnose.js';
import { createRedactor } from '../../harness/history/redact.js';
import { sessionIdHash } from '../../servers/session/session-id.js';
import { event, history, record } from '../helpers/history.js';

const A = 'AAAAAAAAAAAAAAAAAAAAAA';
const B = 'BBBBBBBBBBBBBBBBBBBBBB';
const C = 'CCCCCCCCCCCCCCCCCCCCCC';
const D = 'DDDDDDDDDDDDDDDDDDDDDD';
const sid = (id: string) => `sid#${sessionIdHash(id)}`;
const strip = [{ fault: 'strip-set-cookie@0.3', note: 'removed 2 Set-Cookie headers' }];
const causes = (verdicts: ReturnType<typeof diagnose>) => verdicts.map((v) => [v.step, v.cause]);

describe('answers of concurrent requests count in the order they arrived', () => {
  test('a lost Set-Cookie followed (in arrival) by an answer that loaded a working session left no trace: the next request is judged by the id it carried', () => {
    const verdicts = diagnose(
      history('memory', [
        { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A, at: 0 },
        // together: the add loads A on app-1 and answers last; the read lands on app-2, whose new id's cookie is stripped
        { step: 2, request: 'POST /cart/items', backend: 'app-1', session: 'loaded', jar: A, write: 'set', at: 20, duration: 100 },
        { step: 3, request: 'GET /cart', backend: 'app-2', session: 'unknown-id', jar: A, issued: C, lost: true, proxySetCookieOut: [], faults: strip, at: 25, duration: 10 },
        // A still works on app-1 (step 2's answer came after C was lost); this request takes A to app-3
        { step: 4, backend: 'app-3', session: 'unknown-id', jar: A, issued: D, at: 130 },
      ]),
    );
    expect(causes(verdicts)).toEqual([
      [3, 'replication'],
      [4, 'replication'],
    ]);
    expect(verdicts[1].evidence).toContain(`${sid(A)} created on app-1 at step 1`);
  });

  test('an answer that loaded the very id the lost Set-Cookie replaced does not hide the loss', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice', at: 0 },
        // together: a privilege change replaces A by B (its Set-Cookie stripped); a read loaded A before it was destroyed and answered after
        { step: 2, request: 'POST /profile', backend: 'app-1', session: 'loaded', jar: A, issued: B, user: 'alice', lost: true, proxySetCookieOut: [], faults: strip, at: 20, duration: 10 },
        { step: 3, backend: 'app-2', session: 'loaded', jar: A, user: 'alice', at: 21, duration: 30 },
        { step: 4, backend: 'app-2', session: 'unknown-id', jar: A, issued: C, at: 60 },
      ]),
    );
    expect(causes(verdicts)).toEqual([[4, 'transmission']]);
    expect(verdicts[0].evidence).toContain('strip-set-cookie');
  });
});

describe('order of deaths: idle and absolute limits count as the TTL does', () => {
  const login = { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'bob', at: 0, duration: 10 } as const;

  test('idle limit over before Redis was restarted: expiry, not replication', () => {
    const verdicts = diagnose(
      history('redis', [login, { step: 2, backend: 'app-2', session: 'unknown-id', jar: A, issued: B, at: 1900 }], { idleTimeoutMs: 500 }, [
        event('redis-restarted', 1300, { fault: 'restart-redis,at=1.3s' }),
      ]),
    );
    expect(causes(verdicts)).toEqual([[2, 'expiry']]);
    expect(verdicts[0].evidence).toContain('idle limit 500 ms ran out');
    expect(verdicts[0].evidence).toContain('found nothing of it to lose');
  });

  test('absolute limit over before its backend restarted (memory, sticky): expiry', () => {
    const verdicts = diagnose(
      history(
        'memory',
        [login, { step: 2, backend: 'app-1', session: 'loaded', jar: A, user: 'bob', at: 100 }, { step: 3, backend: 'app-1', session: 'unknown-id', jar: A, issued: B, at: 1900 }],
        { absoluteTimeoutMs: 500 },
        [event('backend-restarted', 1300, { backend: 'app-1', fault: 'restart-backend=app-1,at=1.3s' })],
      ),
    );
    expect(causes(verdicts)).toEqual([[3, 'expiry']]);
    expect(verdicts[0].evidence).toContain('absolute limit 500 ms since login ran out');
  });

  test('idle limit over before the request left for a backend that never had it: expiry', () => {
    const verdicts = diagnose(history('memory', [login, { step: 2, backend: 'app-2', session: 'unknown-id', jar: A, issued: B, at: 1500 }], { idleTimeoutMs: 500 }));
    expect(causes(verdicts)).toEqual([[2, 'expiry']]);
  });

  test('the restart came while the session was alive by every limit: replication', () => {
    const verdicts = diagnose(
      history('redis', [login, { step: 2, backend: 'app-2', session: 'unknown-id', jar: A, issued: B, at: 1500 }], { idleTimeoutMs: 5000, absoluteTimeoutMs: 9000 }, [event('redis-restarted', 700)]),
    );
    expect(causes(verdicts)).toEqual([[2, 'replication']]);
  });

  test('the restart fell inside the idle window: unclassified, naming the idle limit', () => {
    const verdicts = diagnose(
      history(
        'redis',
        [
          { ...login, duration: 400 },
          { step: 2, backend: 'app-2', session: 'unknown-id', jar: A, issued: B, at: 1900 },
        ],
        { idleTimeoutMs: 500 },
        [event('redis-restarted', 700)],
      ),
    );
    expect(causes(verdicts)).toEqual([[2, 'unclassified']]);
    expect(verdicts[0].evidence).toContain('idle limit of 500 ms ended between 500 ms and 900 ms');
  });
});

describe('a cookie that lapsed on the client clock is expiry, however the jar view caught it', () => {
  test('it lapsed between a request and the jar read after it (Expires in whole seconds): the next request without it is expiry', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'bob', maxAge: 1, jarExpiresAt: 1000, at: 0 },
        // sent with the cookie at 950 ms; by the answer at 1050 ms the jar had dropped it
        { step: 2, backend: 'app-1', session: 'loaded', jar: A, user: 'bob', at: 950, duration: 100, after: null },
        { step: 3, backend: 'app-2', session: 'created', sent: null, issued: B, at: 1300 },
      ]),
    );
    expect(causes(verdicts)).toEqual([[3, 'expiry']]);
    expect(verdicts[0].evidence).toContain('Max-Age=1');
  });

  test('it lapsed before the jar was read after the answer that set it (a slow browser): expiry at the next request', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'bob', maxAge: 1, at: 0, duration: 1500, after: null },
        { step: 2, backend: 'app-2', session: 'created', sent: null, issued: B, at: 2700 },
      ]),
    );
    expect(causes(verdicts)).toEqual([[2, 'expiry']]);
    expect(verdicts[0].evidence).toContain('Max-Age=1, received with step 1');
  });

  test('it lapsed while the request was on its way and no rule withheld it: expiry, saying so — not "the client did not send it"', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'bob', maxAge: 1, jarExpiresAt: 1000, at: 0 },
        { step: 2, backend: 'app-2', session: 'created', jar: A, sent: null, issued: B, at: 900, duration: 400 },
      ]),
    );
    expect(causes(verdicts)).toEqual([[2, 'expiry']]);
    expect(verdicts[0].evidence).toContain('expired in the client at 1 s, after GET /drafts was issued at 900 ms and before its answer at 1.3 s');
  });

  test('a browser rule that withheld a cookie still alive when the request left stays transmission', () => {
    const verdicts = diagnose(
      history('redis', [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'bob', maxAge: 1, jarExpiresAt: 1000, at: 0 },
        { step: 2, backend: 'app-2', session: 'created', jar: A, sent: null, issued: B, withheld: 'SameSite=Strict cookie sid withheld', at: 900, duration: 400 },
      ]),
    );
    expect(causes(verdicts)).toEqual([[2, 'transmission']]);
  });
});

test('a redacted history hashes percent-encoded cookie values as the id the client sent (connect.sid=s%3A…), so it joins as the run did', () => {
  const raw = record({ step: 1, backend: 'app-1', session: 'loaded', jar: 's:abc.def' });
  const redacted = createRedactor().record({
    ...raw,
    cookieSent: 'connect.sid=s%3Aabc.def',
    setCookie: ['connect.sid=s%3Aabc.def; Path=/; HttpOnly'],
    jarAfter: [{ ...raw.jarAfter[0], name: 'connect.sid', value: 's%3Aabc.def' }],
  });
  const id = `#${sessionIdHash('s:abc.def')}`;
  expect(redacted.sessionIdSent).toBe(id);
  expect(redacted.cookieSent).toBe(`connect.sid=${id}`);
  expect(redacted.setCookie[0]).toBe(`connect.sid=${id}; Path=/; HttpOnly`);
  expect(redacted.jarAfter[0].value).toBe(id);
});

describe('matrix12 mix-sticky-idle-kill: two backends restarted 100 ms apart, memory sessions (RULES.md, "The store did not know the id", rules 2 and 4)', () => {
  // User 1 logged in on app-1, user 2 on app-2; both restarted (1.3 s, 1.4 s) and each back up a while later.
  // User 1's next request came while both were still down (the balancer's 503), user 2's reached app-2's new process.
  const restarts = [
    event('backend-restarted', 1300, { backend: 'app-1', fault: 'restart-backend=app-1,at=1.3s' }),
    event('backend-restarted', 1400, { backend: 'app-2', fault: 'restart-backend=app-2,at=1.4s' }),
    event('backend-up', 2500, { backend: 'app-1', fault: 'restart-backend=app-1,at=1.3s' }),
    event('backend-up', 2600, { backend: 'app-2', fault: 'restart-backend=app-2,at=1.4s' }),
  ];
  const run = (session: { idleTimeoutMs?: number }) => {
    const h = history(
      'memory',
      [
        { user_: 1, step: 2, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'bob', at: 300, duration: 50 },
        { user_: 2, step: 2, request: 'POST /login', backend: 'app-2', session: 'created', issued: B, user: 'bob', at: 320, duration: 50 },
        { user_: 1, step: 4, backend: 'app-1', session: 'unknown-id', jar: A, issued: C, status: 503, at: 2400 },
        { user_: 2, step: 4, backend: 'app-2', session: 'unknown-id', jar: B, issued: D, status: 401, at: 2700 },
      ],
      session,
      restarts,
    );
    // The 503 is the balancer's own: no backend chosen, nothing forwarded.
    const refused = h.requests[2];
    Object.assign(refused, { backend: undefined, sessionStatus: undefined, backendSessionHash: undefined, setCookie: [], sessionIdAfter: A, responseBody: '{"error":"balancer: no backend is up"}' });
    Object.assign(refused.proxy!, { backend: undefined, error: 'no backend up', setCookie: [], setCookieOut: [] });
    return diagnose(h);
  };

  test("the idle limit (500 ms) ran out before the restart: expiry, and the balancer's 503 is a failed request, not a reset", () => {
    const verdicts = run({ idleTimeoutMs: 500 });
    expect(verdicts.map((v) => [v.user, v.step, v.cause])).toEqual([[2, 4, 'expiry']]);
    expect(verdicts[0].evidence).toContain('idle limit 500 ms ran out');
  });

  test('no limit competes: the restart lost it, replication naming the restart of the backend that held it', () => {
    const verdicts = run({});
    expect(verdicts.map((v) => [v.user, v.step, v.cause])).toEqual([[2, 4, 'replication']]);
    expect(verdicts[0].evidence).toContain('app-2 was restarted at 1.4 s (fault restart-backend=app-2,at=1.4s)');
  });
});
