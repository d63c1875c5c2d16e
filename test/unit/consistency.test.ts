/** The consistency checker over hand-written histories. */
import { describe, expect, test } from 'vitest';
import { checkConsistency } from '../../harness/consistency/check.js';
import type { RequestRecord } from '../../harness/history/history.js';
import { history, type Hop } from '../helpers/history.js';

const S = 'SSSSSSSSSSSSSSSSSSSSSS';

/** A cart op on session S: add (with the cart the backend saved) or read. */
function op(step: number, at: number, kind: 'add' | 'read' | 'logout', items: string[], sku?: string): Hop & { body: [string | undefined, string | undefined] } {
  const request = kind === 'add' ? 'POST /cart/items' : kind === 'read' ? 'GET /cart' : 'POST /logout';
  return {
    step,
    at,
    request,
    backend: `app-${(step % 3) + 1}`,
    session: kind === 'logout' ? 'destroyed' : 'loaded',
    jar: S,
    status: kind === 'add' ? 201 : 200,
    write: kind === 'add' ? 'set' : 'touch',
    body: [sku ? JSON.stringify({ sku }) : undefined, kind === 'logout' ? '{}' : JSON.stringify({ cart: items.map((s) => ({ sku: s, qty: 1 })) })],
  };
}

/** The history of these ops, each taking the given time. */
function withDurations(ops: ReturnType<typeof op>[], durations: number[]) {
  const h = history('redis', ops);
  h.requests.forEach((r: RequestRecord, i) => {
    r.durationMs = durations[i];
    [r.requestBody, r.responseBody] = ops[i].body;
  });
  return h;
}

describe('consistency checker', () => {
  test('two concurrent adds saved whole: the first is a lost update, with the add that overwrote it', () => {
    const h = withDurations([op(1, 0, 'add', ['a'], 'a'), op(2, 5, 'add', ['b'], 'b'), op(3, 100, 'read', ['b'])], [50, 60, 5]);
    const anomalies = checkConsistency(h);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ kind: 'lost-update', item: 'a', user: 1 });
    expect(anomalies[0].evidence).toContain('step 2 (add b) ran at the same time, loaded the cart without a and saved it whole after');
    expect(anomalies[0].sequence.map((o) => o.step)).toEqual([1, 2, 3]);
    expect(anomalies[0].sequence[0].outcome).toBe('add a → 201, cart [a]');
  });

  test('the same adds done one after the other lose nothing', () => {
    const h = withDurations([op(1, 0, 'add', ['a'], 'a'), op(2, 20, 'add', ['a', 'b'], 'b'), op(3, 40, 'read', ['a', 'b'])], [10, 10, 5]);
    expect(checkConsistency(h)).toEqual([]);
  });

  test('concurrent adds that both land (locking) are not anomalies', () => {
    const h = withDurations([op(1, 0, 'add', ['a'], 'a'), op(2, 5, 'add', ['a', 'b'], 'b'), op(3, 100, 'read', ['a', 'b'])], [50, 60, 5]);
    expect(checkConsistency(h)).toEqual([]);
  });

  test('a read after an acknowledged add that lacks it, fixed later: read-your-writes', () => {
    const h = withDurations([op(1, 0, 'add', ['a'], 'a'), op(2, 20, 'read', []), op(3, 40, 'read', ['a'])], [10, 5, 5]);
    const [anomaly] = checkConsistency(h);
    expect(anomaly).toMatchObject({ kind: 'read-your-writes', item: 'a' });
    expect(anomaly.sequence.map((o) => o.step)).toEqual([1, 2, 3]);
  });

  test('an item seen, then gone, then back: non-monotonic read', () => {
    const h = withDurations([op(1, 0, 'read', ['a']), op(2, 20, 'read', []), op(3, 40, 'read', ['a'])], [5, 5, 5]);
    const [anomaly] = checkConsistency(h);
    expect(anomaly).toMatchObject({ kind: 'non-monotonic-read', item: 'a' });
    expect(anomaly.sequence.map((o) => o.step)).toEqual([1, 2]);
  });

  test('a slow add that loaded before logout and saved after: resurrected session', () => {
    const h = withDurations([op(1, 0, 'add', ['late'], 'late'), op(2, 10, 'logout', [])], [150, 5]);
    const [anomaly] = checkConsistency(h);
    expect(anomaly.kind).toBe('resurrected-session');
    expect(anomaly.evidence).toContain('step 2 (POST /logout) destroyed the session, then step 1 (POST /cart/items), which had loaded it before, saved it back');
  });

  test('the same race where the add did not write (locking): nothing', () => {
    const h = withDurations([op(1, 0, 'add', ['late'], 'late'), op(2, 10, 'logout', [])], [150, 5]);
    h.requests[0].storeWrite = 'none';
    expect(checkConsistency(h)).toEqual([]);
  });
});
