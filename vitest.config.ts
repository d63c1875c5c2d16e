import { defineConfig } from 'vitest/config';
import { timeoutBudgetMs } from './harness/util/budget.js';

// Every deadline derives from one budget (SLAB_BUDGET_MS, harness/util/budget.ts):
// a test may start a few clusters and run a few scenarios, each step of which
// gets the whole budget on a busy machine, so a test gets several of them.
const budget = timeoutBudgetMs();

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 4 * budget,
    hookTimeout: 2 * budget,
    // Integration tests start real processes: in a describe.concurrent file,
    // at most this many tests (each starting its clusters) run at once.
    maxConcurrency: 3,
  },
});
