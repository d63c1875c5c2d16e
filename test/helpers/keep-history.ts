/**
 * A run's history kept when a test's assertion about it fails: a verdict
 * test that fails once under load can then be judged from what the run
 * recorded (RULES.md), not re-run until it fails again. chaiConfig cuts
 * values in a message at 600 characters, so the history goes to a file
 * (session ids and cookies hashed, bodies redacted, as in `--history`) and
 * the message names it.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RunResult } from '../../harness/runner/run.js';
import { createRedactor } from '../../harness/history/redact.js';

/** Where failing runs' histories go (git-ignored): SLAB_FAILED_HISTORIES, or test-results/histories. */
const DIR = process.env.SLAB_FAILED_HISTORIES || join(import.meta.dirname, '..', '..', 'test-results', 'histories');

const keptName = (name: string, ext: string) => join(DIR, `${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}-${process.pid}-${Date.now()}${ext}`);

/** Writes the run's records, events and verdicts to a file of its own (0600); returns its path. */
export function writeFailedHistory(name: string, result: RunResult): string {
  mkdirSync(DIR, { recursive: true });
  const redact = createRedactor();
  const file = keptName(name, '.json');
  const kept = { startedAt: result.startedAt, events: result.events, resets: result.resets, failures: result.failures, records: result.records.map((r) => redact.record(r)) };
  writeFileSync(file, JSON.stringify(kept, null, 1), { mode: 0o600 });
  return file;
}

/** Runs `check` on `result`; when it throws, keeps the run's history and names the file in the error. */
export async function keepHistoryOnFailure<T>(name: string, result: RunResult, check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    const file = writeFailedHistory(name, result);
    if (error instanceof Error) error.message = `${error.message}\n(this run's history: ${file})`;
    throw error;
  }
}

/**
 * As keepHistoryOnFailure, for a run streamed to a history file (`historyFile`: the result keeps only
 * example records): the file itself is kept, as written (already redacted unless the run asked for raw values).
 */
export async function keepHistoryFileOnFailure<T>(name: string, historyFile: string, check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    mkdirSync(DIR, { recursive: true });
    const file = keptName(name, `-${basename(historyFile)}`);
    copyFileSync(historyFile, file);
    if (error instanceof Error) error.message = `${error.message}\n(this run's history: ${file})`;
    throw error;
  }
}
