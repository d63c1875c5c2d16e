/** The one time budget and the one duration syntax. */
import { afterEach, describe, expect, test } from 'vitest';
import { HarnessError } from '../../harness/errors.js';
import { parseScheduledFault } from '../../harness/fault/faults.js';
import { BUDGET_ENV, DEFAULT_BUDGET_MS, setTimeoutBudget, timeoutBudgetMs } from '../../harness/util/budget.js';
import { parseDuration } from '../../harness/util/duration.js';
import { pollUntil } from '../../harness/util/wait.js';

describe('time budget', () => {
  const saved = process.env[BUDGET_ENV];
  afterEach(() => {
    setTimeoutBudget(undefined);
    if (saved === undefined) delete process.env[BUDGET_ENV];
    else process.env[BUDGET_ENV] = saved;
  });

  test('the option wins over the environment, which wins over the default', () => {
    delete process.env[BUDGET_ENV];
    expect(timeoutBudgetMs()).toBe(DEFAULT_BUDGET_MS);
    process.env[BUDGET_ENV] = '2m';
    expect(timeoutBudgetMs()).toBe(120_000);
    process.env[BUDGET_ENV] = '45000';
    expect(timeoutBudgetMs()).toBe(45_000);
    setTimeoutBudget(500);
    expect(timeoutBudgetMs()).toBe(500);
  });

  test('a malformed SLAB_BUDGET_MS is bad input, naming the variable', () => {
    process.env[BUDGET_ENV] = 'soon';
    expect(() => timeoutBudgetMs()).toThrow(HarnessError);
    expect(() => timeoutBudgetMs()).toThrow(/SLAB_BUDGET_MS: expected milliseconds or a duration/);
  });

  test('a wait that runs out names the budget and how to raise it', async () => {
    setTimeoutBudget(100);
    await expect(pollUntil(async () => undefined, { what: 'nothing' })).rejects.toThrow(/timed out after 100 ms waiting for nothing \(time budget 100 ms; .*SLAB_BUDGET_MS/);
  });
});

describe('durations', () => {
  test('one syntax: ms, s (the default), m, h', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('2 minutes')).toBeUndefined();
    expect(parseDuration('-1s')).toBeUndefined();
  });

  test('a fault takes for=2m as --duration takes 2m', () => {
    expect(parseScheduledFault('drain-backend=app-1,for=2m').durationMs).toBe(120_000);
  });
});
