import { budgetHint, timeoutBudgetMs } from './budget.js';

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs` (default: the time budget). */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  { timeoutMs = timeoutBudgetMs(), intervalMs = 10, what }: { timeoutMs?: number; intervalMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${budgetHint()}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
