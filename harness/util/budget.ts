/**
 * The one time budget every deadline of session-lab derives from: how long
 * a backend, a Redis or a balancer may take to come up, how long to wait for
 * a process to go, and (in the tests) how long a test may run.
 *
 * A busy machine (a shared CI runner at load 10-20) is slow, not broken, so
 * the default is generous. Raise it with the environment variable
 * SLAB_BUDGET_MS (milliseconds, or a duration such as `2m`) or, from the
 * library, with `setTimeoutBudget()`; the CLI's `--budget` sets it too. Every
 * timeout error names the budget it ran out of and how to raise it.
 */
import { HarnessError } from '../errors.js';
import { DURATION_EXAMPLES, parseDuration } from './duration.js';

export const BUDGET_ENV = 'SLAB_BUDGET_MS';
export const DEFAULT_BUDGET_MS = 30_000;
const MAX_BUDGET_MS = 24 * 3_600_000;

let configured: number | undefined;

function checked(where: string, value: string): number {
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) : parseDuration(value);
  if (ms === undefined || !(ms >= 100 && ms <= MAX_BUDGET_MS)) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${where}: expected milliseconds or ${DURATION_EXAMPLES}, from 100 ms to 24 h, got ${JSON.stringify(value.slice(0, 40))}`);
  }
  return ms;
}

/** Sets the budget for this process (the `--budget` option); undefined goes back to the environment or the default. */
export function setTimeoutBudget(ms: number | undefined): void {
  if (ms !== undefined && !(Number.isFinite(ms) && ms >= 100 && ms <= MAX_BUDGET_MS)) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `budget: expected 100 ms to 24 h, got ${ms}`);
  }
  configured = ms;
}

/** Parses a budget given as text (a flag value): bare milliseconds or a duration. */
export function parseBudget(where: string, value: string): number {
  return checked(where, value);
}

/** The budget in ms: the option, else SLAB_BUDGET_MS, else the default. A malformed variable is bad input (exit 2). */
export function timeoutBudgetMs(): number {
  if (configured !== undefined) return configured;
  const fromEnv = process.env[BUDGET_ENV];
  return fromEnv === undefined || fromEnv === '' ? DEFAULT_BUDGET_MS : checked(BUDGET_ENV, fromEnv);
}

/** A deadline as a share of the budget, e.g. `budgetShare(0.1)` for a step that is one of several. */
export function budgetShare(fraction: number): number {
  return Math.max(1, Math.round(timeoutBudgetMs() * fraction));
}

/** What to append to a timeout message: the budget and how to raise it. */
export function budgetHint(): string {
  return `(time budget ${timeoutBudgetMs()} ms; on a slow machine raise ${BUDGET_ENV} or --budget)`;
}
