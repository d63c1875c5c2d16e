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
 * several run side by side: three per idle core, at most six (on an idle
 * 2-core machine six took 119–125 s, four 135–142 s: more of the waits
 * overlap the CPU work). A machine
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
  return Math.max(1, Math.min(6, Math.floor(3 * idleCores)));
}

/** Test files that need a process of their own (see `projects` below). */
const OWN_PROCESS = ['app-image-cli', 'app-image-express', 'container-launcher', 'docker-engine', 'docker-runtime', 'redis-container', 'redis'].map((name) => `test/integration/${name}.test.ts`);

export default defineConfig({
  test: {
    testTimeout: 4 * budget,
    hookTimeout: 2 * budget,
    maxWorkers: testFiles(),
    // Integration tests start real processes: in a describe.concurrent file,
    // at most this many tests (each starting its clusters) run at once.
    maxConcurrency: 3,
    // Assertion messages show the values (chai cuts them at 40 characters:
    // "expected [ { user: +0, run: +0, …(3) } ]" told a stress run nothing).
    chaiConfig: { truncateThreshold: 600 },
    // Most files need no fresh process: a worker runs them one after another
    // on one module graph (a fresh fork re-imports the harness and its
    // dependencies, ~0.3 s of CPU per unit file and ~0.85 s per integration
    // file). Safe for them because none leaves shared state changed: the
    // budget is set only by budget.test.ts, which restores it; sharedRun's
    // runs are read-only; the live children the harness kills on exit are
    // each stopped by the test that started them. The files that use Docker
    // or change DOCKER_HOST keep a process each: the harness keeps one Docker
    // client and one container owner label per process, and those tests count
    // "their" containers and expect the engine they point DOCKER_HOST at.
    projects: [
      { extends: true, test: { name: 'shared-workers', include: ['test/**/*.test.ts'], exclude: OWN_PROCESS, isolate: false } },
      { extends: true, test: { name: 'own-process', include: OWN_PROCESS } },
    ],
  },
});
