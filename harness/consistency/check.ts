/**
 * The session record as a database, checked the way Jepsen checks one:
 * every cart operation in the history is an operation on its session (the
 * record its id names), with the time it was invoked and the time it
 * completed; the checker looks for outcomes no serial order explains.
 *
 *   lost-update         an acknowledged add is missing from every read
 *                       after it, to the session's last read
 *   read-your-writes    a read after an acknowledged add lacks it, though a
 *                       later read has it
 *   non-monotonic-read  a read lacks an item an earlier, completed read had,
 *                       and a later one has it again
 *   resurrected-session a session destroyed by logout is written back by a
 *                       request that loaded it before (tj/connect-redis #328)
 *
 * Each anomaly comes with the shortest sequence of operations that shows
 * it. A pure function of the history: no sockets, no clock.
 */
import { sessionIdHash } from '../../servers/session/session-id.js';
import type { History, RequestRecord } from '../history/history.js';

export type AnomalyKind = 'lost-update' | 'read-your-writes' | 'non-monotonic-read' | 'resurrected-session';
export const ANOMALY_KINDS: readonly AnomalyKind[] = ['lost-update', 'read-your-writes', 'non-monotonic-read', 'resurrected-session'];

export interface Operation {
  step: number;
  request: string;
  /** ms since the run started. */
  invokedAt: number;
  completedAt: number;
  /** What it did or saw, e.g. `add book-1 → 201, cart [book-1]`. */
  outcome: string;
}

export interface Anomaly {
  kind: AnomalyKind;
  user: number;
  run: number;
  /** `sid#…` of the session concerned. */
  session: string;
  item?: string;
  evidence: string;
  /** The shortest sequence of operations that shows it, in invocation order. */
  sequence: Operation[];
}

interface Op {
  record: RequestRecord;
  kind: 'add' | 'read' | 'destroy' | 'other';
  item?: string;
  cart?: string[];
  invoke: number;
  complete: number;
}

function skus(body: string | undefined): string[] | undefined {
  if (!body) return undefined;
  try {
    const cart = (JSON.parse(body) as { cart?: { sku?: unknown }[] }).cart;
    return Array.isArray(cart) ? cart.map((item) => String(item.sku)) : undefined;
  } catch {
    return undefined;
  }
}

function addedSku(body: string | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const sku = (JSON.parse(body) as { sku?: unknown }).sku;
    return typeof sku === 'string' ? sku : undefined;
  } catch {
    return undefined;
  }
}

function toOp(record: RequestRecord): Op {
  const invoke = record.time;
  const complete = record.time + record.durationMs;
  const base = { record, invoke, complete };
  if (record.sessionStatus === 'destroyed') return { ...base, kind: 'destroy' };
  if (record.method === 'POST' && record.path === '/cart/items' && record.status === 201) {
    return { ...base, kind: 'add', item: addedSku(record.requestBody), cart: skus(record.responseBody) };
  }
  if (record.method === 'GET' && record.path === '/cart' && record.status === 200) return { ...base, kind: 'read', cart: skus(record.responseBody) };
  return { ...base, kind: 'other' };
}

export function checkConsistency(history: History): Anomaly[] {
  const requests = history.requests;
  if (requests.length === 0) return [];
  const start = history.events.find((e) => e.kind === 'run-started')?.time ?? Math.min(...requests.map((r) => r.time));
  const describe = (op: Op): Operation => {
    const r = op.record;
    const list = (cart: string[] | undefined) => (cart ? `[${cart.join(', ')}]` : '?');
    const outcome =
      op.kind === 'add'
        ? `add ${op.item} → ${r.status}, cart ${list(op.cart)}`
        : op.kind === 'read'
          ? `read → ${list(op.cart)}`
          : op.kind === 'destroy'
            ? `destroyed the session (${r.status})`
            : `${r.status}, session ${r.sessionStatus}, store write ${r.storeWrite ?? '?'}`;
    return { step: r.step, request: `${r.method} ${r.path}`, invokedAt: Math.round(op.invoke - start), completedAt: Math.round(op.complete - start), outcome };
  };

  // Operations on each session: the requests whose session the backend loaded.
  const bySession = new Map<string, Op[]>();
  const destroys: Op[] = [];
  for (const record of requests) {
    if (record.error || !record.sessionIdSent) continue;
    const op = toOp(record);
    if (op.kind === 'destroy') destroys.push(op);
    if (record.sessionStatus !== 'loaded' && op.kind !== 'destroy') continue;
    const key = sessionIdHash(record.sessionIdSent);
    let ops = bySession.get(key);
    if (!ops) bySession.set(key, (ops = []));
    ops.push(op);
  }

  const anomalies: Anomaly[] = [];
  for (const [session, ops] of bySession) {
    ops.sort((a, b) => a.invoke - b.invoke);
    const { user, run } = ops[0].record;
    const label = `sid#${session}`;
    const reads = ops.filter((op) => op.kind === 'read' && op.cart);
    const lastRead = reads[reads.length - 1];
    for (const add of ops.filter((op) => op.kind === 'add' && op.item)) {
      const item = add.item!;
      const after = reads.filter((read) => read.invoke > add.complete);
      if (after.length === 0) continue;
      if (!lastRead.cart!.includes(item)) {
        // The add that overwrote it: concurrent, finished no earlier, and its saved cart lacks the item.
        const overwriter = ops.find(
          (op) => op !== add && op.kind === 'add' && op.invoke < add.complete && add.invoke < op.complete && op.complete >= add.complete && op.cart && !op.cart.includes(item),
        );
        const sequence = [add, ...(overwriter ? [overwriter] : []), lastRead].sort((a, b) => a.invoke - b.invoke);
        anomalies.push({
          kind: 'lost-update',
          user,
          run,
          session: label,
          item,
          evidence:
            `${item} was added (201 at step ${add.record.step}) but the session's last read (step ${lastRead.record.step}) has [${lastRead.cart!.join(', ')}]` +
            (overwriter
              ? `: step ${overwriter.record.step} (add ${overwriter.item}) ran at the same time, loaded the cart without ${item} and saved it whole after`
              : ''),
          sequence: sequence.map(describe),
        });
        continue;
      }
      const stale = after.find((read) => !read.cart!.includes(item));
      if (stale) {
        const later = after.find((read) => read.invoke > stale.complete && read.cart!.includes(item))!;
        anomalies.push({
          kind: 'read-your-writes',
          user,
          run,
          session: label,
          item,
          evidence: `the read at step ${stale.record.step} began after ${item} was acknowledged (step ${add.record.step}) but did not have it; step ${later.record.step} did`,
          sequence: [add, stale, later].map(describe),
        });
      }
    }
    for (let i = 0; i < reads.length; i++) {
      for (let j = i + 1; j < reads.length; j++) {
        const [first, second] = [reads[i], reads[j]];
        if (second.invoke <= first.complete) continue;
        const vanished = first.cart!.find((item) => !second.cart!.includes(item) && lastRead.cart!.includes(item));
        if (!vanished) continue;
        anomalies.push({
          kind: 'non-monotonic-read',
          user,
          run,
          session: label,
          item: vanished,
          evidence: `step ${first.record.step} read ${vanished}, the later read at step ${second.record.step} did not, and the last read has it again`,
          sequence: [first, second].map(describe),
        });
        i = reads.length; // one example per session is enough
        break;
      }
    }
  }

  // Destroyed, then written back by a request that had loaded it before the destroy.
  for (const destroy of destroys) {
    const id = destroy.record.sessionIdSent!;
    const writer = requests
      .filter((r) => r !== destroy.record && r.sessionIdSent === id && r.sessionStatus === 'loaded' && r.storeWrite === 'set')
      .map(toOp)
      .find((op) => op.complete > destroy.complete && op.invoke < destroy.complete);
    if (!writer) continue;
    anomalies.push({
      kind: 'resurrected-session',
      user: destroy.record.user,
      run: destroy.record.run,
      session: `sid#${sessionIdHash(id)}`,
      evidence: `step ${destroy.record.step} (${destroy.record.method} ${destroy.record.path}) destroyed the session, then step ${writer.record.step} (${writer.record.method} ${writer.record.path}), which had loaded it before, saved it back: the session is alive again in the store`,
      sequence: [writer, destroy].sort((a, b) => a.invoke - b.invoke).map(describe),
    });
  }
  return anomalies;
}

export function countAnomalies(anomalies: readonly Anomaly[]): Record<AnomalyKind, number> {
  const counts = Object.fromEntries(ANOMALY_KINDS.map((kind) => [kind, 0])) as Record<AnomalyKind, number>;
  for (const anomaly of anomalies) counts[anomaly.kind]++;
  return counts;
}
