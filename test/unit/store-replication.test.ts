/** Store-level replication verdicts over hand-written histories: replica reads, failover, and what cannot be proven. */
import { describe, expect, test } from 'vitest';
import { diagnose } from '../../harness/diagnosis/diagnose.js';
import { checkConsistency } from '../../harness/consistency/check.js';
import type { History } from '../../harness/history/history.js';
import { sessionIdHash } from '../../servers/session/session-id.js';
import { history } from '../helpers/history.js';

const A = 'AAAAAAAAAAAAAAAAAAAAAA';
const B = 'BBBBBBBBBBBBBBBBBBBBBB';
const C = 'CCCCCCCCCCCCCCCCCCCCCC';
const R1 = 'a'.repeat(40);
const R2 = 'b'.repeat(40);

/** Land, log in (written to redis-1 at offset 1000), then a drafts read that finds nothing. */
function loginThenMiss(store: History['topology']['store'], read: string | undefined): History {
  const h = history(store, [
    { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A },
    { step: 2, request: 'POST /login', backend: 'app-2', session: 'loaded', jar: A, issued: B, user: 'alice' },
    { step: 3, backend: 'app-3', session: 'unknown-id', jar: B, issued: C, status: 401 },
  ]);
  h.requests[1].storeWriteAt = `node=redis-1;addr=127.0.0.1:7001;role=primary;replid=${R1};offset=1000;ends=1100`;
  h.requests[2].storeRead = read;
  return h;
}

describe('store-level replication diagnosis', () => {
  test('a replica read behind the login write: replication, naming the replica, its offset and the lag fault', () => {
    const h = loginThenMiss('redis-replica-reads', `node=redis-2;addr=127.0.0.1:7002;role=replica;replid=${R1};offset=1050`);
    h.events.push({ time: 1_000_001, kind: 'store-lag', fault: 'replica-lag=50ms', detail: 'replication to redis-2 delayed by 50 ms', topology: 'primary redis-1' });
    const [verdict] = diagnose(h);
    expect(verdict).toMatchObject({ step: 3, cause: 'replication' });
    expect(verdict.evidence).toContain(`sid#${sessionIdHash(B)} written to redis-1 (127.0.0.1:7001)`);
    expect(verdict.evidence).toContain('read replica redis-2 (127.0.0.1:7002)');
    expect(verdict.evidence).toContain('replication offset 1050 was behind the write');
    expect(verdict.evidence).toContain('fault replica-lag=50ms');
  });

  test('a replica that had reached the write is never blamed', () => {
    const h = loginThenMiss('redis-replica-reads', `node=redis-2;addr=127.0.0.1:7002;role=replica;replid=${R1};offset=1500`);
    const [verdict] = diagnose(h);
    expect(verdict.cause).toBe('unclassified');
  });

  test('a miss without the node position is unclassified and says what is missing', () => {
    const h = loginThenMiss('redis-replica-reads', 'node=redis-2;addr=127.0.0.1:7002;role=replica');
    const [verdict] = diagnose(h);
    expect(verdict.cause).toBe('unclassified');
    expect(verdict.evidence).toContain("redis-2's replication offset at the read was not recorded");
  });

  test('the promoted replica took over before the write: replication, naming the old and the new primary', () => {
    const h = loginThenMiss('redis-sentinel', `node=redis-2;addr=127.0.0.1:7002;role=primary;replid=${R2};offset=1400;replid2=${R1};offset2=1051`);
    h.events.push(
      { time: 1_000_025, kind: 'store-primary-killed', fault: 'kill-primary', detail: 'redis-1 (127.0.0.1:7001) killed', topology: 'primary redis-1' },
      { time: 1_000_028, kind: 'store-failover', fault: 'kill-primary', detail: 'redis-2 promoted', topology: 'primary redis-2 (127.0.0.1:7002)' },
    );
    const [verdict] = diagnose(h);
    expect(verdict.cause).toBe('replication');
    expect(verdict.evidence).toContain('written to redis-1 (127.0.0.1:7001)');
    expect(verdict.evidence).toContain('read the new primary redis-2 (127.0.0.1:7002)');
    expect(verdict.evidence).toContain('the promoted replica never had it');

    const lost = checkConsistency(h).filter((a) => a.kind === 'lost-acknowledged-write');
    expect(lost).toHaveLength(1);
    expect(lost[0].sequence.map((op) => op.step)).toEqual([2, 3]);
  });

  test('an answer that reached the client after the kill: the old primary took the write before dying, never "0 ms before"', () => {
    const h = loginThenMiss('redis-sentinel', `node=redis-2;addr=127.0.0.1:7002;role=primary;replid=${R2};offset=1400;replid2=${R1};offset2=1051`);
    // Login answered at 21 ms (client clock); redis-1 killed at 15 ms.
    h.events.push({ time: h.requests[1].time - 6, kind: 'store-primary-killed', fault: 'kill-primary', detail: 'redis-1 (127.0.0.1:7001) was killed', topology: 'primary redis-1' });
    const [verdict] = diagnose(h);
    expect(verdict.cause).toBe('replication');
    expect(verdict.evidence).toContain('which the old primary had taken before redis-1 (127.0.0.1:7001) was killed');
    expect(verdict.evidence).toContain('the answer reaching the client 7 ms after the kill');
    expect(verdict.evidence).not.toMatch(/\b0 ms before/);
  });

  test('a promotion after the write (the replica had it) is not a loss at failover', () => {
    const h = loginThenMiss('redis-sentinel', `node=redis-2;addr=127.0.0.1:7002;role=primary;replid=${R2};offset=1400;replid2=${R1};offset2=1200`);
    expect(diagnose(h)[0].cause).toBe('unclassified');
    expect(checkConsistency(h).filter((a) => a.kind === 'lost-acknowledged-write')).toEqual([]);
  });

  test('a stale replica read is a read-your-writes violation in the consistency check, with the two operations', () => {
    const h = loginThenMiss('redis-replica-reads', `node=redis-2;addr=127.0.0.1:7002;role=replica;replid=${R1};offset=1050`);
    const found = checkConsistency(h).filter((a) => a.kind === 'read-your-writes');
    expect(found).toHaveLength(1);
    expect(found[0].sequence.map((op) => op.step)).toEqual([2, 3]);
    expect(found[0].evidence).toContain('redis-2');
  });
});
