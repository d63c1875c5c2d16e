/**
 * `--app-image` with an ordinary Express 4 + express-session app, not
 * session-lab's own server: test/fixtures/express-app built into an image
 * (its Dockerfile, its node_modules) on the private engine, run as 3
 * containers on the host network through testcontainers.
 *
 * The tests run side by side (each CLI run is a harness of its own, with
 * its own containers): "nothing left" is checked per run — no process
 * carrying its marker, no container of its harness process on the engine.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../harness/docker/build-image.js';
import { expect, test } from 'vitest';
import { expressAppImage, APP_DIR } from '../helpers/app-image.js';
import { startCli, type CliResult } from '../helpers/cli.js';
import { BASE_IMAGE, describeDocker, noContainersLeftBy } from '../helpers/docker.js';
import { waitForNoMarked } from '../helpers/processes.js';
import { expectReplicationNamingBothBackends } from '../helpers/verdicts.js';
import { timeoutBudgetMs } from '../../harness/util/budget.js';

const SCENARIO = join(APP_DIR, 'login-account.yaml');

interface RunJson {
  resets: { cause: string; backend?: string; evidence: string; expected: boolean }[];
  requestsPerBackend: Record<string, number>;
  passed: boolean;
}

/** A CLI run to its end, then proof that it left nothing: no process with its marker, no container of its harness. */
async function runAndLeaveNothing(args: string[]): Promise<CliResult> {
  const cli = startCli(args);
  const result = await cli.done;
  expect(await waitForNoMarked(cli.marker), 'processes left by the run').toEqual([]);
  expect(await noContainersLeftBy(cli.child.pid!), 'containers left by the run').toEqual([]);
  return result;
}

/** An image of the base whose app is `script` (node -e). */
async function scriptImage(tag: string, script: string): Promise<string> {
  const context = mkdtempSync(join(tmpdir(), 'slab-bad-image-'));
  try {
    writeFileSync(join(context, 'Dockerfile'), `FROM ${BASE_IMAGE}\nCMD ${JSON.stringify(['node', '-e', script])}\n`);
    await buildImage({ context, files: ['Dockerfile'], dockerfile: 'Dockerfile', tag });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  return tag;
}

// A build and a few runs of three containers each: every one may take the whole budget on a busy machine.
const BUDGET = timeoutBudgetMs();
/** The start-up timeout of the app that never listens on PORT: a third of the budget. */
const NEVER_READY_MS = Math.round(BUDGET / 3);

describeDocker('run --app-image: an ordinary Express app as containers', () => {
  // First: it needs no Express image, so it runs while that image is built (at most three tests at once).
  test.concurrent(
    'an image whose app crashes, and one that never listens on PORT: exit 3 naming the replica, quoting its last output; nothing left',
    async () => {
      // Neither needs the Express app's image: built, and run, side by side.
      const [crash, never] = await Promise.all([
        scriptImage('session-lab-test/crash:1', 'console.log("booting shop"); console.error("Error: SECRET missing"); process.exit(1)').then((image) =>
          runAndLeaveNothing(['run', SCENARIO, '--app-image', image, '--servers', '2']),
        ),
        scriptImage('session-lab-test/never:1', 'console.log("listening on my own port"); setInterval(() => {}, 1000)').then((image) =>
          // Long enough for the container's app to print its line on a loaded machine (2 s was not, at
          // load 21: 'it printed nothing'), short of the whole budget the default would wait.
          runAndLeaveNothing(['run', SCENARIO, '--app-image', image, '--servers', '2', '--app-start-timeout', `${NEVER_READY_MS}ms`]),
        ),
      ]);
      expect(crash.code, crash.stderr).toBe(3);
      expect(crash.stderr).toMatch(/SLAB_ERR_CONTAINER_START: replica app-[12]: the container of session-lab-test\/crash:1 exited with code 1 before it was ready/);
      expect(crash.stderr).toContain('Error: SECRET missing');
      expect(never.code, never.stderr).toBe(3);
      expect(never.stderr).toMatch(new RegExp(`replica app-[12]: the container of session-lab-test/never:1 was not ready within ${NEVER_READY_MS} ms`));
      expect(never.stderr).toContain('the app must listen on 127.0.0.1:$PORT');
      expect(never.stderr).toContain('listening on my own port');
    },
    4 * BUDGET,
  );

  test.concurrent(
    'memory sessions: the resets are replication, naming the backend that issued the id and the one that refused it',
    async () => {
      const run = await runAndLeaveNothing(['run', SCENARIO, '--app-image', await expressAppImage(), '--app-env', 'SESSION_SECRET=one-secret', '--users', '4', '--json']);
      expect(run.code, run.stderr).toBe(1);
      const json = JSON.parse(run.stdout) as RunJson;
      expect(Object.keys(json.requestsPerBackend).sort()).toEqual(['app-1', 'app-2', 'app-3']);
      expectReplicationNamingBothBackends(json.resets);
    },
    5 * BUDGET,
  );

  test.concurrent(
    "a scenario's secret per replica ({BACKEND_ID}) on shared Redis: replication, naming the cookie's rejection; --fixed passes",
    async () => {
      const scenario = join(APP_DIR, 'secret-per-replica.yaml');
      const image = await expressAppImage();
      // Two harnesses of their own: the misconfigured run and the fixed one side by side.
      const [run, fixed] = await Promise.all([
        runAndLeaveNothing(['run', scenario, '--app-image', image, '--users', '4', '--json']),
        runAndLeaveNothing(['run', scenario, '--app-image', image, '--users', '4', '--fixed', '--json']),
      ]);
      expect(run.code, run.stderr).toBe(1);
      const lost = (JSON.parse(run.stdout) as RunJson).resets.filter((r) => r.cause !== 'code');
      expect(
        lost.some((r) => r.cause === 'replication' && r.evidence.includes('refused a cookie whose session it could read')),
        run.stdout,
      ).toBe(true);
      for (const verdict of lost) expect(['replication', 'unclassified']).toContain(verdict.cause);
      expect(fixed.code, fixed.stderr).toBe(0);
    },
    5 * BUDGET,
  );

  test.concurrent(
    'connect-redis (REDIS_URL) and one secret: no reset, the run passes',
    async () => {
      const run = await runAndLeaveNothing(['run', SCENARIO, '--app-image', await expressAppImage(), '--app-env', 'SESSION_SECRET=one-secret', '--store', 'redis', '--users', '4', '--json']);
      expect(run.code, run.stderr).toBe(0);
      const json = JSON.parse(run.stdout) as RunJson;
      expect(json.resets.filter((r) => !r.expected)).toEqual([]);
      expect(json.passed).toBe(true);
      expect(Object.keys(json.requestsPerBackend).sort()).toEqual(['app-1', 'app-2', 'app-3']);
    },
    5 * BUDGET,
  );
});
