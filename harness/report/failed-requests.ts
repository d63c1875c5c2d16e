/**
 * The run report's account of its errors: which requests failed, who
 * answered them (a backend, or the balancer itself), and what happened to
 * the cluster meanwhile — so a balancer's "no backend is up" reads against
 * the restarts, kills and drains that took the backends out, and the
 * `backend-up` that put each back.
 */
import { exact } from '../diagnosis/evidence.js';
import type { ClusterEvent, RequestRecord } from '../history/history.js';

const failed = (r: RequestRecord) => Boolean(r.error) || r.status === 0 || r.status >= 500;

const since = (time: number, origin: number) => `+${exact(Math.max(0, time - origin))}`;

function eventLine(e: ClusterEvent, origin: number): string {
  const what = e.detail ?? `${e.kind}${e.backend ? ` ${e.backend}` : ''}`;
  return `  ${since(e.time, origin)}  ${what}${e.fault ? ` (fault ${e.fault})` : ''}`;
}

/** Lines for the text report; none when every request got an answer below 500. */
export function failedRequestLines(result: { errors: number; records: RequestRecord[]; events: ClusterEvent[]; startedAt?: number }, max: number): string[] {
  if (result.errors === 0) return [];
  const records = result.records.filter(failed).sort((a, b) => a.time - b.time);
  // Times count from the run's start (else from the first thing recorded).
  const origin = result.startedAt ?? Math.min(...result.records.map((r) => r.time), ...result.events.map((e) => e.time));
  const out = ['', `Failed requests (${result.errors})`];
  for (const r of records.slice(0, max)) {
    const who = r.backend ? r.backend : r.proxy ? 'the balancer' : 'no answer';
    const why = r.error ?? r.proxy?.error;
    out.push(`  user ${r.user}${r.run > 1 ? `, run ${r.run}` : ''}, step ${r.step} ${r.stepName} sent ${since(r.time, origin)}: ${r.status || 'no status'} from ${who}${why ? ` (${why})` : ''}`);
  }
  if (result.errors > Math.min(records.length, max)) out.push(`  … and ${result.errors - Math.min(records.length, max)} more (the history file has them all)`);
  const events = result.events.filter((e) => e.backend || e.kind.startsWith('redis') || e.kind.startsWith('store'));
  if (events.length) {
    out.push('', 'What happened to the cluster meanwhile');
    for (const e of events.slice(0, 2 * max)) out.push(eventLine(e, origin));
    if (events.length > 2 * max) out.push(`  … and ${events.length - 2 * max} more events (--json lists them)`);
  }
  return out;
}
