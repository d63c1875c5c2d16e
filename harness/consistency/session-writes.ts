/**
 * The session record itself as a replicated register (issue 9): a login
 * (or any session write) the store acknowledged must be readable by the
 * requests after it. Two anomalies, each proven from the store's own
 * reports (diagnosis/store-replication.ts), never inferred from timing:
 *
 *   read-your-writes         a read after the acknowledged write hit a
 *                            replica that had not applied it yet
 *   lost-acknowledged-write  the write went to a primary that then failed
 *                            over to a replica which never had it
 *
 * The shortest example is the write and the read that missed it.
 */
import { explainStoreMiss, isReplicatedStore, sentHash } from '../diagnosis/store-replication.js';
import type { History, RequestRecord } from '../history/history.js';
import type { Anomaly, Operation } from './anomaly.js';

export function checkSessionWrites(history: History, start: number): Anomaly[] {
  if (!isReplicatedStore(history.topology.store)) return [];
  const operation = (r: RequestRecord, outcome: string): Operation => ({
    step: r.step,
    request: `${r.method} ${r.path}`,
    invokedAt: Math.round(r.time - start),
    completedAt: Math.round(r.time + r.durationMs - start),
    outcome,
  });
  const anomalies: Anomaly[] = [];
  for (const r of history.requests) {
    const hash = sentHash(r);
    if (r.sessionStatus !== 'unknown-id' || !hash) continue;
    const finding = explainStoreMiss(history, r, hash);
    if (finding?.cause !== 'replication' || !finding.write) continue;
    const write = finding.write;
    anomalies.push({
      kind: finding.kind === 'lost-at-failover' ? 'lost-acknowledged-write' : 'read-your-writes',
      user: r.user,
      run: r.run,
      session: `sid#${hash}`,
      evidence: finding.evidence,
      sequence: [operation(write, `session written → ${write.status}`), operation(r, `session not found → ${r.status}`)],
    });
  }
  return anomalies;
}
