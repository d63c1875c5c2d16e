/**
 * The backend log lines a report quotes around a reset (report/log-excerpt.ts):
 * the right backends and window, and never a session id, cookie value or
 * password, whatever the app printed. Pure: no sockets.
 */
import { describe, expect, it } from 'vitest';
import type { Verdict } from '../../harness/diagnosis/diagnose.js';
import type { RequestRecord } from '../../harness/history/history.js';
import { logExcerpts, logRedactor } from '../../harness/report/log-excerpt.js';
import { sessionIdHash } from '../../servers/session/session-id.js';

const SIGNED = 's:Zk3v9QeXr2LmN8pT4aBcDeFgHiJkLmNo.Qw8e7r6t5y4u3i2o1pAsDfGhJkL';
const record = (over: Partial<RequestRecord>): RequestRecord =>
  ({
    user: 1,
    run: 1,
    browser: 1,
    step: 3,
    method: 'GET',
    path: '/account',
    time: 10_000,
    durationMs: 20,
    setCookie: [],
    status: 302,
    refused: [],
    jarAfter: [],
    failures: [],
    resetExpected: false,
    ...over,
  }) as RequestRecord;

describe('log excerpts', () => {
  const login = record({
    step: 2,
    method: 'POST',
    path: '/login',
    time: 9_000,
    requestBody: JSON.stringify({ user: 'alice', password: 'alice-pw' }),
    setCookie: [`connect.sid=${encodeURIComponent(SIGNED)}; Path=/; HttpOnly`],
  });
  const reset = record({ sessionIdSent: encodeURIComponent(SIGNED) });
  const verdict = {
    user: 1,
    run: 1,
    browser: 1,
    step: 3,
    request: 'GET /account',
    backend: 'app-2',
    cause: 'replication',
    evidence: '…',
    facts: { kind: 'wire', text: '…', backend: 'app-2', issuedBy: 'app-1' },
    expected: false,
  } as Verdict;
  const hash = `sid#${sessionIdHash(SIGNED)}`;

  it('redacts the run’s session ids (signed, encoded, bare), the cookie header and the secrets it sent', () => {
    const redact = logRedactor([login, reset], 'connect.sid');
    const id = SIGNED.slice(2, SIGNED.lastIndexOf('.'));
    const line = redact(
      `GET /account cookie=connect.sid=${encodeURIComponent(SIGNED)} session ${id} raw ${SIGNED} login {"user":"alice","password":"alice-pw"} other connect.sid=s%3Aunknownvalue123.sig password=hunter22`,
    );
    expect(line).not.toContain(id);
    expect(line).not.toContain('alice-pw');
    expect(line).not.toContain('unknownvalue123');
    expect(line).not.toContain('hunter22');
    expect(line).toContain(`connect.sid=${hash}`);
    expect(line).toContain(`session ${hash}`);
    expect(line).toContain('"password":[redacted]');
  });

  it('quotes the lines of the backend that answered and the one that issued the id, from before the request to its answer', () => {
    const log = [
      { backend: 'app-2', time: 7_000, msg: 'too early' },
      { backend: 'app-1', time: 9_010, msg: 'POST /login -> 302' },
      { backend: 'app-3', time: 10_005, msg: 'another backend' },
      { backend: 'app-2', time: 10_010, msg: `GET /account -> 302 cookie=connect.sid=${encodeURIComponent(SIGNED)}` },
      { backend: 'app-2', time: 10_500, msg: 'read after the answer' },
      { backend: 'app-2', time: 12_000, msg: 'too late' },
    ];
    const [excerpt] = logExcerpts([verdict], [login, reset], log, { origin: 8_000, cookieName: 'connect.sid' });
    expect(excerpt.backends).toEqual(['app-2', 'app-1']);
    expect(excerpt.lines).toEqual(['+1.010 s app-1 | POST /login -> 302', `+2.010 s app-2 | GET /account -> 302 cookie=connect.sid=${hash}`, '+2.500 s app-2 | read after the answer']);
    // At most maxLines: those nearest the request.
    expect(logExcerpts([verdict], [login, reset], log, { origin: 8_000, cookieName: 'connect.sid', maxLines: 1 })[0].lines).toEqual([
      `+2.010 s app-2 | GET /account -> 302 cookie=connect.sid=${hash}`,
    ]);
    expect(logExcerpts([verdict], [login, reset], [], { origin: 0, cookieName: 'connect.sid' })).toEqual([]);
  });
});
