import { defineConfig } from 'vitest/config';
import { timeoutBudgetMs } from './harness/util/budget.js';

// Every deadline derives from one budget (SLAB_BUDGET_MS, harness/util/budget.ts):
// a test may start a few clusters and run a few scenarios, each step of which
// gets the whole budget on a busy machine, so a test gets several of them.
const budget = timeoutBudgetMs();

// Test files at once. They mostly wait — on child processes starting, sockets,
// timers, a browser — not on this process's CPU, so vitest's default for a
// 2-core machine (one file at a time) leaves the machine idle most of the
// suite. SLAB_TEST_FILES=1 runs them one at a time again.
const files = Number(process.env.SLAB_TEST_FILES ?? 4);
if (!(Number.isInteger(files) && files >= 1 && files <= 64)) throw new Error(`SLAB_TEST_FILES: expected an integer from 1 to 64, got ${JSON.stringify(process.env.SLAB_TEST_FILES)}`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 4 * budget,
    hookTimeout: 2 * budget,
    maxWorkers: files,
    // Integration tests start real processes: in a describe.concurrent file,
    // at most this many tests (each starting its clusters) run at once.
    maxConcurrency: 3,
  },
});
