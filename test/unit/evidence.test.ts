/** Verdict evidence as data: the recorded values, and one text rendering of them. */
import { expect, test } from 'vitest';
import { diagnose, renderEvidence } from '../../harness/diagnosis/diagnose.js';
import { sessionIdHash } from '../../servers/session/session-id.js';
import { event, history } from '../helpers/history.js';

const A = 'AAAAAAAAAAAAAAAAAAAAAA';
const B = 'BBBBBBBBBBBBBBBBBBBBBB';
const C = 'CCCCCCCCCCCCCCCCCCCCCC';

test('a replication verdict carries where the id was made and where the request went, as data', () => {
  const [verdict] = diagnose(
    history('memory', [
      { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice' },
      { step: 2, backend: 'app-2', session: 'unknown-id', jar: A, issued: B },
    ]),
  );
  expect(verdict.facts).toEqual({ kind: 'routed-elsewhere', session: sessionIdHash(A), createdOn: 'app-1', createdAtStep: 1, createdBy: 'POST /login', routedTo: 'app-2', store: 'memory' });
  expect(verdict.evidence).toBe(renderEvidence(verdict.facts));
});

test('an expiry ordered against a restart carries both times, and the text is rendered from them', () => {
  const [verdict] = diagnose(
    history(
      'redis',
      [
        { step: 1, request: 'POST /login', backend: 'app-1', session: 'created', issued: A, user: 'alice', at: 0 },
        { step: 2, backend: 'app-1', session: 'unknown-id', jar: A, issued: C, at: 2000 },
      ],
      { ttlMs: 600 },
      [event('redis-restarted', 1800, { fault: 'restart-redis,at=1.8s' })],
    ),
  );
  expect(verdict.facts).toMatchObject({ kind: 'ttl-ran-out', ttlMs: 600, lastWriteStep: 1, goneByMs: 601, before: { kind: 'redis-restarted', atMs: 1800, fault: 'restart-redis,at=1.8s' } });
  expect(verdict.evidence).toBe(renderEvidence(verdict.facts));
  expect(verdict.evidence).toContain('it was gone before the shared store was restarted empty at 1.8 s');
});

test('a history file written redacted (ids as #hash) gives the same verdicts as the raw history', async () => {
  const { createRedactor } = await import('../../harness/history/redact.js');
  const raw = history('memory', [
    { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A },
    {
      step: 2,
      request: 'POST /login',
      backend: 'app-2',
      session: 'unknown-id',
      jar: A,
      issued: B,
      user: 'alice',
      lost: true,
      proxySetCookieOut: [],
      faults: [{ fault: 'strip-set-cookie', note: 'removed 2 Set-Cookie headers' }],
    },
    { step: 3, backend: 'app-1', session: 'loaded', jar: A },
    { step: 4, backend: 'app-2', session: 'unknown-id', jar: A, issued: C },
  ]);
  const redactor = createRedactor();
  const redacted = { ...raw, requests: raw.requests.map((r) => redactor.record(r)) };
  expect(JSON.stringify(redacted.requests)).not.toContain(A);
  const verdicts = diagnose(raw);
  expect(verdicts.map((v) => v.cause)).toEqual(['replication', 'transmission', 'replication']);
  expect(diagnose(redacted)).toEqual(verdicts);
});
