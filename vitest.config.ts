import { availableParallelism, loadavg } from 'node:os';
import { defineConfig } from 'vitest/config';
import { timeoutBudgetMs } from './harness/util/budget.js';

// Every deadline derives from one budget (SLAB_BUDGET_MS, harness/util/budget.ts):
// a test may start a few clusters and run a few scenarios, each step of which
// gets the whole budget on a busy machine, so a test gets several of them.
const budget = timeoutBudgetMs();

/**
 * Test files at once. They mostly wait — on child processes starting,
 * sockets, timers, a browser — not on the CPU, so on an idle machine
 * several run side by side: two per idle core, at most four. A machine
 * already busy (a shared CI runner at load 10) has no idle core: one file
 * at a time, as `make -l` holds back its jobs, since more at once would only
 * slow every file down. SLAB_TEST_FILES=N sets the number.
 */
function testFiles(): number {
  const given = process.env.SLAB_TEST_FILES;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!(Number.isInteger(n) && n >= 1 && n <= 64)) throw new Error(`SLAB_TEST_FILES: expected an integer from 1 to 64, got ${JSON.stringify(given.slice(0, 40))}`);
    return n;
  }
  const idleCores = availableParallelism() - loadavg()[0];
  return Math.max(1, Math.min(4, Math.floor(2 * idleCores)));
}

export default defineConfig({
  test: {
    testTimeout: 4 * budget,
    hookTimeout: 2 * budget,
    maxWorkers: testFiles(),
    // Integration tests start real processes: in a describe.concurrent file,
    // at most this many tests (each starting its clusters) run at once.
    maxConcurrency: 3,
    // Unit tests share no state (no sockets, no processes, no env left
    // changed), so one worker runs them one after another on one module
    // graph: a fresh process per file would cost more than all their tests.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'] } },
    ],
  },
});
