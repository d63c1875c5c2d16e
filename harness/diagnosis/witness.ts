/**
 * Which black-box requests need a witness: a request that carried a session
 * id intact to backend B, which answered "log in first", where the id was
 * issued by another backend A. Sending the same request again straight to
 * A, after the pass, shows whether the session still existed there — the
 * evidence that separates replication (A has it, B does not share it) from
 * an expiry or an app-side end (nobody has it). Pure; the runner sends them.
 */
import type { RequestRecord } from '../history/history.js';
import { wireView, type BlackBoxRules } from './wire-view.js';

export interface WitnessRequest {
  record: RequestRecord;
  /** The backend that issued the id: where the witness goes. */
  backend: string;
}

/** Only requests that change nothing are sent again. */
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function witnessRequests(records: readonly RequestRecord[], cookieName: string, rules: BlackBoxRules): WitnessRequest[] {
  const issuer = new Map<string, string>();
  const wanted: WitnessRequest[] = [];
  for (const r of [...records].sort((a, b) => a.time - b.time)) {
    if (r.error || r.status === 0) continue;
    const view = wireView(r, cookieName, rules);
    const id = r.sessionIdSent;
    const from = id === undefined ? undefined : issuer.get(id);
    if (id !== undefined && from && view.loginRequired !== undefined && view.idReceived === id && view.backend && view.backend !== from && SAFE_METHODS.has(r.method)) {
      wanted.push({ record: r, backend: from });
    }
    if (view.issued?.value !== undefined && view.backend && !issuer.has(view.issued.value)) issuer.set(view.issued.value, view.backend);
  }
  return wanted;
}
