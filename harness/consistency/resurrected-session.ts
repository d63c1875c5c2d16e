/** A session destroyed by logout, written back by a request that had loaded it before the destroy (tj/connect-redis #328). */
import { idHash } from '../history/redact.js';
import type { RequestRecord } from '../history/history.js';
import type { Anomaly, Operation } from './anomaly.js';
import { toOp, type Op } from './operations.js';

export function checkResurrections(requests: readonly RequestRecord[], destroys: readonly Op[], describe: (op: Op) => Operation): Anomaly[] {
  const anomalies: Anomaly[] = [];
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
      session: `sid#${idHash(id)}`,
      evidence: `step ${destroy.record.step} (${destroy.record.method} ${destroy.record.path}) destroyed the session, then step ${writer.record.step} (${writer.record.method} ${writer.record.path}), which had loaded it before, saved it back: the session is alive again in the store`,
      sequence: [writer, destroy].sort((a, b) => a.invoke - b.invoke).map(describe),
    });
  }
  return anomalies;
}
