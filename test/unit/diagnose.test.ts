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
});
