/**
 * Acknowledged adds that reads do not show: a lost update (missing from
 * every read after it, to the last) or a read-your-writes violation (a read
 * after the ack lacks it, a later one has it).
 */
import type { Anomaly, Operation } from './anomaly.js';
import type { Op } from './operations.js';

export function checkAdds(ops: readonly Op[], session: string, describe: (op: Op) => Operation): Anomaly[] {
  const anomalies: Anomaly[] = [];
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
      const overwriter = ops.find((op) => op !== add && op.kind === 'add' && op.invoke < add.complete && add.invoke < op.complete && op.complete >= add.complete && op.cart && !op.cart.includes(item));
      const sequence = [add, ...(overwriter ? [overwriter] : []), lastRead].sort((a, b) => a.invoke - b.invoke);
      anomalies.push({
        kind: 'lost-update',
        user,
        run,
        session: label,
        item,
        evidence:
          `${item} was added (201 at step ${add.record.step}) but the session's last read (step ${lastRead.record.step}) has [${lastRead.cart!.join(', ')}]` +
          (overwriter ? `: step ${overwriter.record.step} (add ${overwriter.item}) ran at the same time, loaded the cart without ${item} and saved it whole after` : ''),
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
  return anomalies;
}
