/**
 * A Markdown summary of a run for `$GITHUB_STEP_SUMMARY` and `--summary
 * FILE`: the outcome, the counts, resets by cause, the first resets with
 * their evidence (session ids as hashes only, as everywhere).
 */
import type { CompareRow } from '../compare/compare.js';
import type { RunResult } from '../runner/run.js';
import { evidenceText } from './sequence-diagram.js';

const cell = (text: unknown) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdownSummary(result: RunResult, max = 10): string {
  const { seed } = result;
  const out = [
    `### session-lab run ${result.scenario}${result.fixed ? ' --fixed' : ''}: ${result.passed ? '✅ passed' : '❌ failed'}`,
    '',
    `${result.servers} servers, store \`${result.store}\`, balancer \`${result.balancer}\`${result.faults.length ? `, faults \`${result.faults.join(' ')}\`` : ''}, ${result.users} users × ${result.repeat}${seed === undefined ? '' : `, seed ${seed}`}`,
    '',
    '| requests | errors | resets | anomalies | failed expectations | p50 ms | p95 ms | p99 ms |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${result.requests} | ${result.errors} | ${result.resetsTotal} | ${result.anomaliesTotal} | ${result.failuresTotal} | ${result.latencyMs.p50.toFixed(1)} | ${result.latencyMs.p95.toFixed(1)} | ${result.latencyMs.p99.toFixed(1)} |`,
  ];
  const causes = Object.entries(result.resetsByCause).filter(([, n]) => n > 0);
  if (causes.length) {
    out.push('', '| cause | resets |', '| --- | ---: |', ...causes.map(([cause, n]) => `| ${cause} | ${n} |`));
    out.push('', '| who | step | request | cause | evidence |', '| --- | ---: | --- | --- | --- |');
    for (const v of result.resets.slice(0, max)) {
      out.push(`| user ${v.user}${v.run > 1 ? `, run ${v.run}` : ''} | ${v.step} | ${cell(v.request)} | ${v.cause}${v.expected ? ' (expected)' : ''} | ${cell(evidenceText(v))} |`);
    }
    if (result.resetsTotal > max) out.push('', `… and ${result.resetsTotal - max} more resets.`);
    // What the backends logged around the first resets (redacted: report/log-excerpt.ts).
    const logs = (result.backendLogs ?? []).slice(0, 3);
    for (const log of logs) {
      out.push(
        '',
        `Log of ${log.backends.join(', ')} around user ${log.user}${log.run > 1 ? `, run ${log.run}` : ''}, step ${log.step}:`,
        '',
        '```',
        ...log.lines.map((line) => line.replace(/`/g, "'")),
        '```',
      );
    }
  }
  return `${out.join('\n')}\n`;
}

export function renderMarkdownComparison(scenario: string, rows: CompareRow[]): string {
  const seed = rows.find((row) => row.seed !== undefined)?.seed;
  const out = [
    `### session-lab compare --scenario ${scenario}`,
    '',
    ...(seed === undefined ? [] : [`seed ${seed} (replay with \`--seed ${seed}\`)`, '']),
    '| store | balancer | fault | requests | resets | anomalies | errors | p50 ms | p95 ms | p99 ms | req/s |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.store} | ${r.balancer} | ${cell(r.fault)} | ${r.requests} | ${r.resets} | ${r.anomalies} | ${r.errors} | ${r.p50Ms} | ${r.p95Ms} | ${r.p99Ms} | ${r.rps} |`),
  ];
  return `${out.join('\n')}\n`;
}
