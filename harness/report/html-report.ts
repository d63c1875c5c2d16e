/**
 * `--report DIR`: one self-contained HTML file (DIR/index.html) — styles
 * and diagrams inline, no script, nothing fetched at view time — for a run
 * (summary, resets by cause, a sequence diagram per user) or a comparison
 * (the matrix, resets and latency charts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CompareRow } from '../compare/compare.js';
import { RESET_CAUSES, type Verdict } from '../diagnosis/diagnose.js';
import { HarnessError } from '../errors.js';
import type { ClusterEvent, RequestRecord } from '../history/history.js';
import type { RunResult } from '../runner/run.js';
import { evidenceText, sequenceDiagram } from './sequence-diagram.js';
import { barChart, esc, formatNumber, groupedBarChart } from './svg.js';

/** Passes drawn as diagrams at most (those with resets first); the rest are counted. */
const MAX_DIAGRAMS = 60;

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2330; max-width: 1400px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #dde; } h3 { font-size: 15px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ccd; padding: 3px 8px; text-align: left; } td.n { text-align: right; }
.passed { color: #11772d; font-weight: bold; } .failed { color: #b3121f; font-weight: bold; }
.summary td:first-child { color: #556; }
.evidence { background: #fff3f3; border-left: 4px solid #d33; padding: 6px 10px; margin: 6px 0; font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap; }
.backend-log { background: #f6f6f6; border-left: 4px solid #888; padding: 6px 10px; margin: 6px 0 12px; font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap; }
.user { margin: 18px 0 28px; } .scroll { overflow-x: auto; }
svg text { font: 11px ui-monospace, monospace; fill: #1d2330; }
svg .chart-title { font: bold 13px system-ui, sans-serif; }
svg .small { font-size: 10px; }
svg .lane { stroke: #99a; stroke-dasharray: 3 3; } svg .lane-label { font-weight: bold; }
svg .hop { stroke: #2b4c8c; stroke-width: 1.4; } svg .hop.response { stroke-dasharray: 5 3; stroke: #5c6b80; } svg .hop.store { stroke: #7a4bb3; }
svg marker path { fill: #2b4c8c; }
svg .step-label { font-weight: bold; fill: #334; }
svg .reset-band { fill: #ffd9d9; stroke: #d33; } svg .reset-label { fill: #b3121f; font-weight: bold; font-size: 12px; }
svg .event line { stroke: #e08a00; stroke-width: 2; stroke-dasharray: 8 4; } svg .event-label { fill: #a65f00; font-weight: bold; }
svg .fault-label { fill: #a65f00; }
svg .bar { fill: #4a72c4; } svg .bar.cause-replication { fill: #d33; } svg .bar.cause-transmission { fill: #e08a00; } svg .bar.cause-code { fill: #7a4bb3; } svg .bar.cause-expiry { fill: #2a9d8f; } svg .bar.cause-unclassified { fill: #888; }
svg .series-0 { fill: #8fb3ea; } svg .series-1 { fill: #4a72c4; } svg .series-2 { fill: #1d3c78; }
`;

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>\n`;
}

const where = (v: { user: number; run: number }) => `user ${v.user}${v.run > 1 ? `, run ${v.run}` : ''}`;
const anchor = (user: number, run: number) => `user-${user}-run-${run}`;

export interface RunReportOptions {
  /** The session cookie's name, to hash its value wherever it appears. */
  cookieName: string;
  /** The command that made the run, shown in the header. */
  command?: string;
}

export function renderRunReport(result: RunResult, options: RunReportOptions): string {
  const out: string[] = [];
  const title = `session-lab run ${result.scenario}`;
  out.push(`<h1>${esc(title)}${result.fixed ? ' --fixed' : ''}</h1>`);
  if (options.command) out.push(`<p><code>${esc(options.command)}</code></p>`);
  out.push(
    `<p class="${result.passed ? 'passed' : 'failed'}" id="outcome">${result.passed ? 'PASSED: every expectation held.' : `FAILED: ${result.failuresTotal} failed expectation${result.failuresTotal === 1 ? '' : 's'}.`}</p>`,
  );
  const { seed } = result;
  const summary: [string, string][] = [
    ['scenario', result.scenario],
    ['cluster', `${result.servers} server${result.servers > 1 ? 's' : ''}, store ${result.store}, balancer ${result.balancer}`],
    ['faults', result.faults.length ? result.faults.join(' ') : 'none'],
    ['users × passes', `${result.users} × ${result.repeat}`],
    ['seed', seed === undefined ? "not recorded (only session-lab's own balancers draw from a seed: not nginx, HAProxy or --target)" : `${seed} (replay with --seed ${seed})`],
    [
      'requests',
      `${result.requests} (${Object.entries(result.requestsPerBackend)
        .map(([name, count]) => `${name}: ${count}`)
        .join(', ')})`,
    ],
    ['errors', String(result.errors)],
    ['resets', String(result.resetsTotal)],
    ['consistency anomalies', String(result.anomaliesTotal)],
    ['latency', `p50 ${result.latencyMs.p50.toFixed(1)} ms, p95 ${result.latencyMs.p95.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms`],
    ['duration', `${(result.durationMs / 1000).toFixed(1)} s`],
  ];
  out.push(`<table class="summary" id="summary">${summary.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table>`);

  out.push('<h2 id="resets-by-cause">Resets by cause</h2>');
  out.push(
    barChart(
      'resets by cause',
      RESET_CAUSES.map((cause) => ({ label: cause, value: result.resetsByCause[cause], className: `cause-${cause}` })),
    ),
  );
  if (result.resets.length) {
    out.push(
      `<table id="resets"><tr><th>who</th><th>step</th><th>request</th><th>backend</th><th>cause</th><th>expected</th><th>evidence</th></tr>${result.resets
        .slice(0, 500)
        .map(
          (v) =>
            `<tr><td><a href="#${anchor(v.user, v.run)}">${esc(where(v))}</a></td><td class="n">${v.step}</td><td>${esc(v.request)}</td><td>${esc(v.backend ?? '-')}</td><td>${esc(v.cause)}</td><td>${v.expected ? 'yes' : 'no'}</td><td>${esc(evidenceText(v))}</td></tr>`,
        )
        .join('')}</table>`,
    );
    if (result.resetsTotal > 500) out.push(`<p>… and ${result.resetsTotal - 500} more.</p>`);
  }
  if (result.events.length) {
    out.push('<h2 id="events">What happened to the cluster</h2><ul>');
    for (const event of result.events) out.push(`<li>${esc(eventText(event, result.records[0]?.time ?? event.time))}</li>`);
    out.push('</ul>');
  }
  if (result.failures.length) {
    out.push(`<h2 id="failures">Failed expectations (${result.failuresTotal})</h2><ul>`);
    for (const f of result.failures.slice(0, 200)) out.push(`<li>${esc(`${where(f)}, step ${f.step} ${f.request}: ${f.message}`)}</li>`);
    out.push('</ul>');
  }
  if (result.anomalies.length) {
    out.push(`<h2 id="anomalies">Consistency anomalies (${result.anomaliesTotal})</h2>`);
    for (const a of result.anomalies.slice(0, 100)) {
      out.push(
        `<h3>${esc(`${where(a)}, ${a.session}: ${a.kind}`)}</h3><div class="evidence">${esc(a.evidence)}\n${a.sequence.map((op) => esc(`step ${op.step} ${op.request} [${op.invokedAt}–${op.completedAt} ms]: ${op.outcome}`)).join('\n')}</div>`,
      );
    }
  }

  out.push('<h2 id="users">Per user: what each hop saw</h2>');
  out.push(userDiagrams(result, options));
  return page(title, out.join('\n'));
}

function eventText(event: ClusterEvent, origin: number): string {
  return `+${event.time - origin} ms: ${event.detail ?? event.kind}${event.backend && !event.detail ? ` ${event.backend}` : ''}${event.fault ? ` (fault ${event.fault})` : ''}`;
}

function userDiagrams(result: RunResult, options: RunReportOptions): string {
  const passes = new Map<string, RequestRecord[]>();
  for (const record of result.records) {
    const key = `${record.user}/${record.run}`;
    let list = passes.get(key);
    if (!list) passes.set(key, (list = []));
    list.push(record);
  }
  const resetsOf = new Map<string, Verdict[]>();
  for (const v of result.resets) {
    const key = `${v.user}/${v.run}`;
    resetsOf.set(key, [...(resetsOf.get(key) ?? []), v]);
  }
  if (passes.size === 0) return '<p>No request records were kept (a run streamed to a history file keeps examples only).</p>';
  const ordered = [...passes.entries()].sort(([a, ra], [b, rb]) => Number(resetsOf.has(b)) - Number(resetsOf.has(a)) || ra[0].user - rb[0].user || ra[0].run - rb[0].run);
  const backends = Object.keys(result.requestsPerBackend).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const origin = Math.min(...result.records.map((r) => r.time));
  const html: string[] = [];
  for (const [key, records] of ordered.slice(0, MAX_DIAGRAMS)) {
    const { user, run } = records[0];
    const verdicts = resetsOf.get(key) ?? [];
    const first = Math.min(...records.map((r) => r.time));
    const last = Math.max(...records.map((r) => r.time + r.durationMs));
    html.push(
      `<section class="user" id="${anchor(user, run)}" data-user="${user}" data-run="${run}" data-resets="${verdicts.length}">` +
        `<h3>${esc(where({ user, run }))}: ${records.length} requests, ${verdicts.length ? `${verdicts.length} reset${verdicts.length > 1 ? 's' : ''} (${esc([...new Set(verdicts.map((v) => v.cause))].join(', '))})` : 'no reset'}</h3>`,
    );
    for (const v of verdicts) {
      html.push(
        `<div class="evidence" data-step="${v.step}">step ${v.step} ${esc(v.request)}: session reset — cause: ${esc(v.cause)}${v.expected ? ' (expected by the scenario)' : ''}\n${esc(evidenceText(v))}</div>`,
      );
      // What the backend itself logged meanwhile (redacted: report/log-excerpt.ts).
      const log = result.backendLogs?.find((e) => e.user === v.user && e.run === v.run && e.browser === v.browser && e.step === v.step);
      if (log) html.push(`<div class="backend-log" data-step="${v.step}">log of ${esc(log.backends.join(', '))} around step ${v.step}:\n${log.lines.map(esc).join('\n')}</div>`);
    }
    html.push(
      `<div class="scroll">${sequenceDiagram({
        records,
        resets: new Map(verdicts.map((v) => [`${v.browser}/${v.step}`, v])),
        events: result.events.filter((e) => e.time >= first && e.time <= last),
        backends,
        store: result.store,
        sessionCookie: options.cookieName,
        origin,
      })}</div></section>`,
    );
  }
  if (ordered.length > MAX_DIAGRAMS) html.push(`<p>${ordered.length - MAX_DIAGRAMS} more passes not drawn.</p>`);
  return html.join('\n');
}

export function renderCompareReport(rows: CompareRow[], options: { scenario: string; command?: string }): string {
  const title = `session-lab compare --scenario ${options.scenario}`;
  const label = (row: CompareRow) => `${row.store} + ${row.balancer}${row.fault === 'none' ? '' : ` + ${row.fault}`}`;
  const out: string[] = [`<h1>${esc(title)}</h1>`];
  if (options.command) out.push(`<p><code>${esc(options.command)}</code></p>`);
  const seed = rows.find((row) => row.seed !== undefined)?.seed;
  if (seed !== undefined) out.push(`<p id="seed">seed ${seed} (replay with --seed ${seed})</p>`);
  out.push('<h2 id="matrix">Matrix</h2>');
  const head = ['store', 'balancer', 'fault', 'requests', 'resets', 'by cause', 'anomalies', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'req/s'];
  out.push(
    `<table id="matrix-table"><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows
      .map((row) => {
        const causes = Object.entries(row.resetsByCause)
          .filter(([, n]) => n > 0)
          .map(([cause, n]) => `${cause} ${n}`)
          .join(', ');
        const cells = [row.store, row.balancer, row.fault, row.requests, row.resets, causes || '-', row.anomalies, row.errors, row.p50Ms, row.p95Ms, row.p99Ms, row.rps];
        return `<tr class="${row.resets ? 'failed' : ''}">${cells.map((c) => `<td${typeof c === 'number' ? ' class="n"' : ''}>${esc(typeof c === 'number' ? formatNumber(c) : c)}</td>`).join('')}</tr>`;
      })
      .join('')}</table>`,
  );
  out.push('<h2 id="resets-chart">Resets</h2>');
  out.push(
    barChart(
      'unexpected resets per architecture',
      rows.map((row) => ({ label: label(row), value: row.resets, className: 'cause-replication' })),
    ),
  );
  out.push('<h2 id="latency">Latency</h2>');
  out.push(
    groupedBarChart(
      'latency per architecture',
      ['p50', 'p95', 'p99'],
      rows.map((row) => ({ label: label(row), values: [row.p50Ms, row.p95Ms, row.p99Ms] })),
      'ms',
    ),
  );
  out.push(
    barChart(
      'throughput per architecture',
      rows.map((row) => ({ label: label(row), value: row.rps })),
      ' req/s',
    ),
  );
  return page(title, out.join('\n'));
}

/** Writes DIR/index.html (creating DIR); returns the file's path. */
export function writeReport(dir: string, html: string): string {
  const file = join(resolve(dir), 'index.html');
  try {
    mkdirSync(resolve(dir), { recursive: true });
    writeFileSync(file, html);
  } catch (error) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--report: cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); expected a writable directory`, {
      cause: error,
    });
  }
  return file;
}
