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
import type { History } from '../history/history.js';
import { ANOMALY_KINDS, type Anomaly, type AnomalyKind } from './anomaly.js';
import { checkAdds } from './lost-update.js';
import { checkReads } from './non-monotonic-read.js';
import { describeOperation, operationsBySession, runStart, type Op } from './operations.js';
import { checkResurrections } from './resurrected-session.js';
import { checkSessionWrites } from './session-writes.js';

export { ANOMALY_KINDS } from './anomaly.js';
export type { Anomaly, AnomalyKind, Operation } from './anomaly.js';

export function checkConsistency(history: History): Anomaly[] {
  const requests = history.requests;
  if (requests.length === 0) return [];
  const start = runStart(history);
  const describe = (op: Op) => describeOperation(op, start);
  const { bySession, destroys } = operationsBySession(requests);
  const anomalies: Anomaly[] = [];
  for (const [session, ops] of bySession) anomalies.push(...checkAdds(ops, session, describe), ...checkReads(ops, session, describe));
  anomalies.push(...checkResurrections(requests, destroys, describe));
  // A replicated store: session writes a replica read missed, or a failover lost (session-writes.ts).
  anomalies.push(...checkSessionWrites(history, start));
  return anomalies;
}

export function countAnomalies(anomalies: readonly Anomaly[]): Record<AnomalyKind, number> {
  const counts = Object.fromEntries(ANOMALY_KINDS.map((kind) => [kind, 0])) as Record<AnomalyKind, number>;
  for (const anomaly of anomalies) counts[anomaly.kind]++;
  return counts;
}
