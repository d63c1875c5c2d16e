/**
 * Store-level replication: why a replicated Redis (replica reads, Sentinel,
 * Cluster) answered "no such session" for an id it had acknowledged.
 * Called from diagnose.ts where an id unknown to a shared store is
 * explained; a pure function of the history.
 *
 * A verdict of `replication` needs proof from the store's own reports
 * (X-Session-Store-Write / -Read, replicated-redis-store.ts):
 *
 *   the write   the primary's replication id R and `ends` E: the write
 *               ends at or after offset E of R's stream (offset before
 *               it, plus the key and value bytes it carries);
 *   the miss    the node that answered "none", with the id and offset of
 *               what it had applied, read right after it answered.
 *
 *   - same history R, applied offset < E: the node (a replica) had not
 *     applied the write — read-your-writes broken by replication lag;
 *   - the node was promoted from history R at offset S < E (its replid2
 *     is R, second_repl_offset S+1): it took over before the write
 *     ended — the write was lost at failover.
 *
 * Anything short of that is `unclassified`, naming what is missing.
 */
import { sessionIdHash } from '../../servers/session/session-id.js';
import { parsePosition } from '../../servers/session/replication-config.js';
import type { ClusterEvent, History, RequestRecord } from '../history/history.js';

export interface StoreFinding {
  cause: 'replication' | 'unclassified';
  evidence: string;
  /** What was proven: a read behind the write, or a write lost at failover. */
  kind?: 'stale-read' | 'lost-at-failover';
  /** The acknowledged write the read lacked. */
  write?: RequestRecord;
}

interface Position {
  node: string;
  addr: string;
  role: string;
  replid?: string;
  offset?: number;
  replid2?: string;
  offset2?: number;
  /** A write's end in the replication stream, at least. */
  ends?: number;
  replicasAcked?: number;
}

function position(header: string | undefined): Position | undefined {
  const fields = parsePosition(header);
  if (!fields?.node) return undefined;
  const number = (value: string | undefined) => (value === undefined || value === '' || !Number.isFinite(Number(value)) ? undefined : Number(value));
  return {
    node: fields.node,
    addr: fields.addr ?? '?',
    role: fields.role ?? '?',
    replid: fields.replid,
    offset: number(fields.offset),
    replid2: fields.replid2,
    offset2: number(fields.offset2),
    ends: number(fields.ends),
    replicasAcked: number(fields.replicasAcked),
  };
}

const REPLICATED = new Set(['redis-replica-reads', 'redis-replica-reads-wait', 'redis-sentinel', 'redis-cluster']);

export function isReplicatedStore(store: string): boolean {
  return REPLICATED.has(store);
}

const ms = (value: number) => (value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`);
const describe = (r: RequestRecord) => `${r.method} ${r.path}`;

/**
 * Explains request `r`, whose backend did not find the session `hash` it
 * was sent, from the store's reports. Undefined when the store is not
 * replicated or the session was never written through it (let the general
 * diagnosis go on).
 */
export function explainStoreMiss(history: History, r: RequestRecord, hash: string): StoreFinding | undefined {
  if (!isReplicatedStore(history.topology.store)) return undefined;
  const runStart = history.events.find((e) => e.kind === 'run-started')?.time ?? Math.min(...history.requests.map((q) => q.time));
  const at = (time: number) => `at ${ms(Math.max(0, time - runStart))}`;
  const label = `sid#${hash}`;

  // The last write of this session acknowledged before the read began: an earlier step of
  // the same browser whose answer came back before this request left (1 ms: the clocks' grain).
  const acknowledgedBefore = (w: RequestRecord) => w.user === r.user && w.run === r.run && (w.browser ?? 1) === (r.browser ?? 1) && w.step < r.step && w.time + w.durationMs <= r.time + 1;
  const write = history.requests
    .filter((w) => w !== r && w.backendSessionHash === hash && w.storeWrite === 'set' && w.storeWriteAt && !w.error && acknowledgedBefore(w))
    .sort((a, b) => b.time + b.durationMs - (a.time + a.durationMs))[0];
  if (!write) return undefined;
  const wrote = position(write.storeWriteAt);
  const read = position(r.storeRead);
  const acked = write.time + write.durationMs;
  const written = `${label} written to ${wrote?.node ?? '?'} (${wrote?.addr ?? '?'}) by ${write.backend} at step ${write.step} (${describe(write)}), acknowledged ${at(acked)}`;
  const where = `${describe(r)} on ${r.backend ?? '?'}`;

  // A session past its TTL is expiry's to explain, not ours.
  if (r.time - acked > history.topology.session.ttlMs) return undefined;
  if (!read) {
    return { cause: 'unclassified', evidence: `${written}; ${where} found nothing, but its backend did not report which Redis node answered the read` };
  }
  if (wrote?.replid === undefined || wrote.ends === undefined) {
    return { cause: 'unclassified', evidence: `${written}; ${where} read ${read.node} and found nothing, but the write's replication offset was not recorded` };
  }
  if (read.replid === undefined || read.offset === undefined) {
    return {
      cause: 'unclassified',
      evidence: `${written}; ${where} read ${read.role === 'replica' ? 'replica ' : ''}${read.node} (${read.addr}) ${ms(r.time - acked)} later and found nothing, but ${read.node}'s replication offset at the read was not recorded, so whether it had the write cannot be shown`,
    };
  }

  const events = history.events;
  if (read.replid === wrote.replid && read.offset < wrote.ends) {
    const lag = [...events].reverse().find((e) => (e.kind === 'store-lag' || e.kind === 'store-partitioned') && e.time <= r.time);
    const why = lag ? `; ${lag.detail ?? lag.kind} ${at(lag.time)}${lag.fault ? ` (fault ${lag.fault})` : ''}` : '; asynchronous replication had not caught up';
    return {
      cause: 'replication',
      kind: 'stale-read',
      write,
      evidence:
        `${written}; ${where} read ${read.role === 'replica' ? 'replica ' : ''}${read.node} (${read.addr}) ${ms(r.time - acked)} later, ` +
        `whose replication offset ${read.offset} was behind the write (which ends at or after offset ${wrote.ends} of ${wrote.node}'s stream)${why}`,
    };
  }
  if (read.replid2 === wrote.replid && read.offset2 !== undefined && read.offset2 - 1 < wrote.ends) {
    const killed = [...events].reverse().find((e) => e.kind === 'store-primary-killed' && e.time <= r.time + r.durationMs);
    const promoted = [...events].reverse().find((e) => e.kind === 'store-failover' && e.time <= r.time + r.durationMs);
    const kill = killed ? `${killed.detail ?? `${wrote.node} was killed`} ${at(killed.time)}${killed.fault ? ` (fault ${killed.fault})` : ''}` : '';
    // The client's clock: an answer can reach it after the kill, though the old primary took the write before dying.
    const before = !killed
      ? ''
      : acked <= killed.time
        ? `, ${ms(killed.time - acked)} before ${kill}`
        : `, which the old primary had taken before ${kill}, the answer reaching the client ${ms(acked - killed.time)} after the kill`;
    const promotion = promoted ? `, promoted ${at(promoted.time)} (${promoted.topology ?? promoted.detail ?? ''})` : '';
    return {
      cause: 'replication',
      kind: 'lost-at-failover',
      write,
      evidence:
        `${written} on the old primary${before}; ${where} read the new primary ${read.node} (${read.addr})${promotion}, ` +
        `which took over ${wrote.node}'s replication stream at offset ${read.offset2 - 1}, before the write ended (at or after ${wrote.ends}): the promoted replica never had it`,
    };
  }
  if (read.replid === wrote.replid || read.replid2 === wrote.replid) return undefined; // the node had it: deleted or expired since, for the general diagnosis
  return {
    cause: 'unclassified',
    evidence: `${written}; ${where} read ${read.node} (${read.addr}) and found nothing; ${read.node}'s replication history does not continue the one the write went to (a resync or a second failover), so whether it ever had the write cannot be shown`,
  };
}

/** Store events (lag, partition, failover) with the topology at each, for reports. */
export function storeEvents(events: readonly ClusterEvent[]): ClusterEvent[] {
  return events.filter((e) => e.kind.startsWith('store-'));
}

/** The session id hash a record sent, for callers outside the diagnosis. */
export const sentHash = (r: RequestRecord) => (r.sessionIdSent === undefined ? undefined : sessionIdHash(r.sessionIdSent));
