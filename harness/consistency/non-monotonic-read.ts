/** A read that lacks an item an earlier, completed read had, when a later read has it again: one example per session. */
import type { Anomaly, Operation } from './anomaly.js';
import type { Op } from './operations.js';

export function checkReads(ops: readonly Op[], session: string, describe: (op: Op) => Operation): Anomaly[] {
  const { user, run } = ops[0].record;
  const reads = ops.filter((op) => op.kind === 'read' && op.cart);
  const lastRead = reads[reads.length - 1];
  for (let i = 0; i < reads.length; i++) {
    for (let j = i + 1; j < reads.length; j++) {
      const [first, second] = [reads[i], reads[j]];
      if (second.invoke <= first.complete) continue;
      const vanished = first.cart!.find((item) => !second.cart!.includes(item) && lastRead.cart!.includes(item));
      if (!vanished) continue;
      return [
        {
          kind: 'non-monotonic-read',
          user,
          run,
          session: `sid#${session}`,
          item: vanished,
          evidence: `step ${first.record.step} read ${vanished}, the later read at step ${second.record.step} did not, and the last read has it again`,
          sequence: [first, second].map(describe),
        },
      ];
    }
  }
  return [];
}
