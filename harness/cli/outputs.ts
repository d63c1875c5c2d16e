/**
 * The files a run or comparison leaves for people and CI besides stdout:
 * `--report DIR` (HTML), `--junit FILE`, `--summary FILE` and, when GitHub
 * Actions sets it, `$GITHUB_STEP_SUMMARY` (appended to, as GitHub expects).
 * Each destination is checked before anything starts, so a typo costs no run.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CompareRow } from '../compare/compare.js';
import type { RunResult } from '../runner/run.js';
import { renderCompareReport, renderRunReport, writeReport } from '../report/html-report.js';
import { renderJunit } from '../report/junit.js';
import { renderMarkdownComparison, renderMarkdownSummary } from '../report/markdown.js';
import { writable, type OutputFlags } from './output-check.js';

export { checkOutputs, type OutputFlags } from './output-check.js';

function stepSummary(markdown: string, flags: OutputFlags, note: (line: string) => void): void {
  if (flags.summary !== undefined) writable('summary', flags.summary, (file) => writeFileSync(file, markdown));
  const github = process.env.GITHUB_STEP_SUMMARY;
  if (github) {
    try {
      appendFileSync(github, `${markdown}\n`);
    } catch (error) {
      note(`could not append to GITHUB_STEP_SUMMARY ${github}: ${(error as Error).message}`);
    }
  }
}

export function writeRunOutputs(result: RunResult, cookieName: string, flags: OutputFlags, command: string, note: (line: string) => void): void {
  if (flags.report !== undefined) note(`report: ${writeReport(flags.report, renderRunReport(result, { cookieName, command }))}`);
  if (flags.junit !== undefined) {
    writable('junit', flags.junit, (file) => writeFileSync(file, renderJunit(result)));
    note(`junit: ${resolve(flags.junit)}`);
  }
  stepSummary(renderMarkdownSummary(result), flags, note);
}

export function writeCompareOutputs(scenario: string, rows: CompareRow[], flags: OutputFlags, command: string, note: (line: string) => void): void {
  if (flags.report !== undefined) note(`report: ${writeReport(flags.report, renderCompareReport(rows, { scenario, command }))}`);
  stepSummary(renderMarkdownComparison(scenario, rows), flags, note);
}
