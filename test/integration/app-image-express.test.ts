/**
 * `--app-image` with an ordinary Express 4 + express-session app, not
 * session-lab's own server: test/fixtures/express-app built into an image
 * (its Dockerfile, its node_modules) on the private engine, run as 3
 * containers on the host network through testcontainers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../harness/docker/build-image.js';
import { beforeAll, expect, test } from 'vitest';
import { expressAppImage, APP_DIR } from '../helpers/app-image.js';
import { runCli } from '../helpers/cli.js';
import { allContainers, BASE_IMAGE, describeDocker } from '../helpers/docker.js';
import { waitForNoMarked } from '../helpers/processes.js';
import { expectReplicationNamingBothBackends } from '../helpers/verdicts.js';
import { timeoutBudgetMs } from '../../harness/util/budget.js';

const SCENARIO = join(APP_DIR, 'login-account.yaml');

interface RunJson {
  resets: { cause: string; backend?: string; evidence: string; expected: boolean }[];
  requestsPerBackend: Record<string, number>;
  passed: boolean;
}

/** No container left on the engine: the harness removes its own before it exits. */
async function noContainersLeft(): Promise<string[]> {
  const deadline = Date.now() + timeoutBudgetMs();
  let left = await allContainers();
  while (left.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = await allContainers();
  }
  return left;
}

// A build and a few runs of three containers each: every one may take the whole budget on a busy machine.
const BUDGET = timeoutBudgetMs();

describeDocker('run --app-image: an ordinary Express app as containers', () => {
  let image: string;
  beforeAll(async () => {
    image = await expressAppImage();
  }, 4 * BUDGET);

  test(
    'memory sessions: the resets are replication, naming the backend that issued the id and the one that refused it',
    async () => {
      const run = await runCli(['run', SCENARIO, '--app-image', image, '--app-env', 'SESSION_SECRET=one-secret', '--users', '4', '--json']);
      expect(run.code, run.stderr).toBe(1);
      const json = JSON.parse(run.stdout) as RunJson;
      expect(Object.keys(json.requestsPerBackend).sort()).toEqual(['app-1', 'app-2', 'app-3']);
      expectReplicationNamingBothBackends(json.resets);
      expect(await waitForNoMarked(run.marker)).toEqual([]);
      expect(await noContainersLeft()).toEqual([]);
    },
    4 * BUDGET,
  );

  test(
    "a scenario's secret per replica ({BACKEND_ID}) on shared Redis: replication, naming the cookie's rejection; --fixed passes",
    async () => {
      const scenario = join(APP_DIR, 'secret-per-replica.yaml');
      const run = await runCli(['run', scenario, '--app-image', image, '--users', '4', '--json']);
      expect(run.code, run.stderr).toBe(1);
      const lost = (JSON.parse(run.stdout) as RunJson).resets.filter((r) => r.cause !== 'code');
      expect(
        lost.some((r) => r.cause === 'replication' && r.evidence.includes('refused a cookie whose session it could read')),
        run.stdout,
      ).toBe(true);
      for (const verdict of lost) expect(['replication', 'unclassified']).toContain(verdict.cause);
      const fixed = await runCli(['run', scenario, '--app-image', image, '--users', '4', '--fixed', '--json']);
      expect(fixed.code, fixed.stderr).toBe(0);
      expect(await waitForNoMarked(run.marker)).toEqual([]);
      expect(await waitForNoMarked(fixed.marker)).toEqual([]);
      expect(await noContainersLeft()).toEqual([]);
    },
    6 * BUDGET,
  );

  test(
    'connect-redis (REDIS_URL) and one secret: no reset, the run passes',
    async () => {
      const run = await runCli(['run', SCENARIO, '--app-image', image, '--app-env', 'SESSION_SECRET=one-secret', '--store', 'redis', '--users', '4', '--json']);
      expect(run.code, run.stderr).toBe(0);
      const json = JSON.parse(run.stdout) as RunJson;
      expect(json.resets.filter((r) => !r.expected)).toEqual([]);
      expect(json.passed).toBe(true);
      expect(Object.keys(json.requestsPerBackend).sort()).toEqual(['app-1', 'app-2', 'app-3']);
      expect(await waitForNoMarked(run.marker)).toEqual([]);
      expect(await noContainersLeft()).toEqual([]);
    },
    4 * BUDGET,
  );

  test(
    'an image whose app crashes, and one that never listens on PORT: exit 3 naming the replica, quoting its last output; nothing left',
    async () => {
      const images: Record<string, string> = {
        crash: 'console.log("booting shop"); console.error("Error: SECRET missing"); process.exit(1)',
        never: 'console.log("listening on my own port"); setInterval(() => {}, 1000)',
      };
      for (const [name, script] of Object.entries(images)) {
        const context = mkdtempSync(join(tmpdir(), 'slab-bad-image-'));
        try {
          writeFileSync(join(context, 'Dockerfile'), `FROM ${BASE_IMAGE}\nCMD ${JSON.stringify(['node', '-e', script])}\n`);
          await buildImage({ context, files: ['Dockerfile'], dockerfile: 'Dockerfile', tag: `session-lab-test/${name}:1` });
        } finally {
          rmSync(context, { recursive: true, force: true });
        }
      }
      const crash = await runCli(['run', SCENARIO, '--app-image', 'session-lab-test/crash:1', '--servers', '2']);
      expect(crash.code, crash.stderr).toBe(3);
      expect(crash.stderr).toMatch(/SLAB_ERR_CONTAINER_START: replica app-[12]: the container of session-lab-test\/crash:1 exited with code 1 before it was ready/);
      expect(crash.stderr).toContain('Error: SECRET missing');
      const never = await runCli(['run', SCENARIO, '--app-image', 'session-lab-test/never:1', '--servers', '2', '--app-start-timeout', '2s']);
      expect(never.code, never.stderr).toBe(3);
      expect(never.stderr).toMatch(/replica app-[12]: the container of session-lab-test\/never:1 was not ready within 2000 ms/);
      expect(never.stderr).toContain('the app must listen on 127.0.0.1:$PORT');
      expect(never.stderr).toContain('listening on my own port');
      expect(await waitForNoMarked(crash.marker)).toEqual([]);
      expect(await waitForNoMarked(never.marker)).toEqual([]);
      expect(await noContainersLeft()).toEqual([]);
    },
    4 * BUDGET,
  );
});
