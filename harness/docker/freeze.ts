import { budgetShare } from '../util/budget.js';

/**
 * docker pause, retried while the engine's runtime cannot freeze the
 * container yet. runc freezes a cgroup by polling its processes for a while,
 * and on a loaded machine gives up with "unable to freeze" (seen at load 15
 * with three suites on one engine); its maintainers leave the retry to the
 * caller (opencontainers/runc#4388). Any other error, or the same one past a
 * share of the time budget, is the fault's failure, reported as such.
 */
export async function freeze(pause: () => Promise<unknown>, deadlineMs = budgetShare(1 / 3)): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await pause();
      return;
    } catch (error) {
      if (!/unable to freeze/i.test((error as Error)?.message ?? '') || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(25 * attempt, 250)));
    }
  }
}
