/** Turns run results into words and tables a newcomer can read. */
import type { ResetCause, Verdict } from '../diagnosis/diagnose.js';
import { table } from '../util/table.js';
import type { RequestRecord } from '../history/history.js';
import type { RunResult } from '../runner/run.js';
import type { LoadedScenario } from '../scenario/load.js';
import { idHash } from '../history/redact.js';
import { isReplicatedStore } from '../diagnosis/store-replication.js';
import { failedRequestLines } from '../report/failed-requests.js';

export const CAUSE_EXPLAINED: Record<ResetCause, string> = {
  replication:
    'the balancer sent the request to a server that does not share this session (sessions live in one server only, or each server signs cookies with a secret of its own). Fix: a shared store (--store redis) or sticky routing; one signing secret for every server.',
  transmission: 'the session id did not reach the server intact: the client withheld it or something on the way dropped it.',
  code: 'the application itself ended or replaced the session (logout, destroy, regenerate).',
  expiry: 'the session outlived its time limit (idle or absolute timeout, store TTL).',
  unclassified: 'the history lacks the evidence to name a cause; the evidence line says what is missing.',
};

/** Replication one layer down: the store's own replicas, not the balancer, lacked the session. */
const STORE_REPLICATION_EXPLAINED =
  "the session store's replication lost the session for this read: a replica that had not applied the write yet (read-your-writes), or a failover that promoted a replica without it (the evidence names the nodes and offsets). Fix: read sessions from the primary, WAIT for the replicas on session writes (--store redis-replica-reads-wait), or accept that an asynchronous failover loses the last writes.";

/** What a cause means in this run: replication in a replicated store is the store's, not the balancer's. */
export function causeExplained(cause: ResetCause, store: string): string {
  return cause === 'replication' && isReplicatedStore(store) ? STORE_REPLICATION_EXPLAINED : CAUSE_EXPLAINED[cause];
}

export function verdictHeadline(v: Verdict): string {
  return `user ${v.user}${v.run > 1 ? `, run ${v.run}` : ''}, step ${v.step} ${v.request}: session reset — cause: ${v.cause}${v.expected ? ' (expected by the scenario)' : ''}`;
}

const sid = (value: string | undefined) => (value ? `sid#${idHash(value)}` : 'none');

/** What every hop saw for one request, one line each. */
export function hops(record: RequestRecord, cookieName: string): string[] {
  const lines = [`client   jar held ${sid(record.sessionIdInJar)}, sent ${record.sessionIdSent ? `its ${cookieName} cookie (${sid(record.sessionIdSent)})` : 'no session cookie'} to ${record.url}`];
  if (record.proxy) {
    const out = record.proxy.cookieOut?.includes(`${cookieName}=`) ? 'forwarded the cookie' : 'forwarded no session cookie';
    lines.push(`balancer chose ${record.proxy.backend}, ${out}, got ${record.proxy.status}${record.proxy.error ? ` (${record.proxy.error})` : ''}`);
  }
  lines.push(
    `backend  ${record.backend ?? '?'} saw the session as "${record.sessionStatus ?? '?'}"${record.sessionUser ? `, user ${record.sessionUser}` : ', no login'}, answered ${record.status}` +
      (record.sessionIdAfter !== record.sessionIdInJar ? `, client now holds ${sid(record.sessionIdAfter)}` : ''),
  );
  return lines;
}

/**
 * A replica lag that reset nobody on replica reads: a lag is time, and a
 * read misses only when it reaches the replica within the lag of its write.
 * Said, so that 0 is not read as "replica reads are safe".
 */
export function lagWithoutStaleReads(result: Pick<RunResult, 'store' | 'events' | 'resetsByCause' | 'anomalies' | 'latencyMs'>): string | undefined {
  if (result.store !== 'redis-replica-reads' || result.resetsByCause.replication > 0 || result.anomalies.some((a) => a.kind === 'read-your-writes')) return undefined;
  const lag = result.events.find((e) => e.kind === 'store-lag' && e.fault?.startsWith('replica-lag'));
  if (!lag) return undefined;
  return (
    `no read reached the replica before the write it followed: ${lag.fault} resets only the reads that come within the lag of their write, ` +
    `and requests here took ${result.latencyMs.p50.toFixed(0)} ms (p50); a longer lag (e.g. replica-lag=1s) shows the effect on a machine this busy`
  );
}

export function formatRun(result: RunResult, options: { maxResets?: number; cookieName: string }): string {
  const max = options.maxResets ?? 10;
  const out: string[] = [];
  const perBackend = Object.entries(result.requestsPerBackend)
    .map(([name, count]) => `${name}: ${count}`)
    .join(', ');
  const causes = Object.entries(result.resetsByCause)
    .filter(([, count]) => count > 0)
    .map(([cause, count]) => `${cause} ${count}`)
    .join(', ');
  out.push(
    `session-lab run ${result.scenario}${result.fixed ? ' --fixed' : ''}: ${result.servers} server${result.servers > 1 ? 's' : ''}${result.runtime === 'docker' ? ' (containers)' : ''}, store ${result.store}, balancer ${result.balancer}, ${result.users} user${result.users > 1 ? 's' : ''} × ${result.repeat} run${result.repeat > 1 ? 's' : ''}` +
      (result.faults.length ? `, faults ${result.faults.join(' ')}` : '') +
      (result.client === 'chromium' ? ', client chromium' : ''),
    '',
    `  requests   ${result.requests} (${perBackend})`,
    `  errors     ${result.errors}`,
    `  resets     ${result.resetsTotal}${causes ? ` (${causes})` : ''}`,
    `  anomalies  ${result.anomaliesTotal}${result.anomaliesTotal ? ` (${[...new Set(result.anomalies.map((a) => a.kind))].join(', ')})` : ''}`,
    `  latency    p50 ${result.latencyMs.p50.toFixed(1)} ms, p95 ${result.latencyMs.p95.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms`,
  );
  if (result.seed !== undefined) out.push(`  seed       ${result.seed} (replay: --seed ${result.seed})`);
  if (result.historyFile) out.push(`  history    ${result.historyFile} (JSON lines: topology, every request, events)`);
  const note = lagWithoutStaleReads(result);
  if (note) out.push(`  note       ${note}`);
  if (result.resets.length) {
    out.push('', 'Resets');
    const byKey = new Map(result.records.map((r) => [`${r.user}/${r.run}/${r.step}`, r]));
    for (const v of result.resets.slice(0, max)) {
      out.push(`  ${verdictHeadline(v)}`, `    ${v.evidence}`);
      const record = byKey.get(`${v.user}/${v.run}/${v.step}`);
      if (record) for (const line of hops(record, options.cookieName)) out.push(`      ${line}`);
    }
    if (result.resetsTotal > max) out.push(`  … and ${result.resetsTotal - max} more (--json lists ${result.resetsTotal > result.resets.length ? `the first ${result.resets.length}` : 'them all'})`);
    out.push('', 'What the causes mean');
    for (const cause of Object.keys(result.resetsByCause) as ResetCause[]) {
      if (result.resetsByCause[cause] > 0) out.push(`  ${cause}: ${causeExplained(cause, result.store)}`);
    }
  }
  if (result.anomalies.length) {
    out.push('', `Consistency anomalies in the session records (${result.anomalies.length})`);
    for (const anomaly of result.anomalies.slice(0, max)) {
      out.push(`  user ${anomaly.user}${anomaly.run > 1 ? `, run ${anomaly.run}` : ''}, ${anomaly.session}: ${anomaly.kind}`, `    ${anomaly.evidence}`);
      for (const op of anomaly.sequence) out.push(`      step ${op.step} ${op.request} [${op.invokedAt}–${op.completedAt} ms]: ${op.outcome}`);
    }
    if (result.anomaliesTotal > max) out.push(`  … and ${result.anomaliesTotal - max} more (--json lists them)`);
  }
  for (const person of result.people.slice(0, max)) {
    out.push(
      '',
      `user ${person.user}${person.run > 1 ? `, run ${person.run}` : ''} used ${person.browsers} browsers: ${person.sessions.length} separate session${person.sessions.length === 1 ? '' : 's'} (${person.sessions.map((h) => `sid#${h}`).join(', ')})` +
        `${person.loggedInAs.length ? `, logged in as ${person.loggedInAs.join(', ')}` : ''} — each browser has its own cookie jar; not a reset`,
    );
  }
  out.push(...failedRequestLines(result, max));
  if (result.failures.length) {
    out.push('', 'Failed expectations');
    for (const f of result.failures.slice(0, max)) out.push(`  user ${f.user}${f.run > 1 ? `, run ${f.run}` : ''}, step ${f.step} ${f.request}: ${f.message}`);
    if (result.failuresTotal > max) out.push(`  … and ${result.failuresTotal - max} more (--json lists them)`);
  }
  out.push(
    '',
    result.passed
      ? 'PASSED: every expectation held.'
      : `FAILED: ${result.failuresTotal} failed expectation${result.failuresTotal === 1 ? '' : 's'}${result.resets.some((v) => !v.expected) ? `, ${result.resets.filter((v) => !v.expected).length}${result.resetsTotal > result.resets.length ? '+' : ''} unexpected reset(s)` : ''}.`,
  );
  return out.join('\n');
}

/** `session-lab scenarios`: each built-in scenario, the cause it shows, what it does, the report it reproduces. */
export function formatScenarioList(scenarios: LoadedScenario[]): string {
  const rows = scenarios.map((s) => [s.name, s.demonstrates ?? 'none', s.description]);
  const out = [table(['scenario', 'cause', 'what it does'], rows)];
  out.push('');
  for (const s of scenarios) {
    const extras = [
      s.reproduces ? `reproduces ${s.reproduces}` : undefined,
      s.misconfiguration ? `broken by: ${s.misconfiguration.note}; clean with --fixed` : undefined,
      s.fix ? `clean with ${s.fix}` : undefined,
    ].filter(Boolean);
    if (extras.length) out.push(`${s.name}: ${extras.join('; ')}`);
  }
  out.push('', 'Run one with: session-lab run <scenario>   (add --fixed to run it without its misconfiguration)');
  return out.join('\n');
}

/** The --json shape: stable field names for scripts and CI. */
export function runToJson(result: RunResult): object {
  const { records: _records, ...rest } = result;
  return rest;
}
