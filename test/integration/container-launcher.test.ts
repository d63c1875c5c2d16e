/**
 * Backends as containers (harness/backend/container-launcher.ts) on the
 * private engine: the reference image, a crashing image, a missing image.
 * Every case leaves no container behind. The cases run side by side in one
 * process (one owner label), so each finds its own containers by a variable
 * of its own in their environment, and the file ends by checking that this
 * process has no container left at all.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, test } from 'vitest';
import { containerLauncher } from '../../harness/backend/container-launcher.js';
import { referenceImage } from '../../harness/docker/reference-image.js';
import { OWNER_ID } from '../../harness/docker/watchdog.js';
import { HarnessError } from '../../harness/errors.js';
import { budgetShare, timeoutBudgetMs } from '../../harness/util/budget.js';
import { freePort } from '../../harness/util/net.js';
import { SESSION_DEFAULTS, type BackendConfig } from '../../servers/config.js';
import { BASE_IMAGE, containersWithEnv, describeDocker, dockerCli } from '../helpers/docker.js';

const config = (name: string): BackendConfig => ({ ...SESSION_DEFAULTS, name, store: 'memory', keyPrefix: 'slab:t:', writes: 'whole' });
/** Replica `index` of the test case `testCase`, which its containers carry as SLAB_TEST_CASE. */
const spec = (testCase: string, index: number) => ({ name: `app-${index}`, index, config: config(`app-${index}`), env: { SLAB_TEST_CASE: testCase }, onLog: () => {} });

/** The containers of this process started for the test case `testCase`. */
const ownContainers = (testCase: string) => containersWithEnv(OWNER_ID, `SLAB_TEST_CASE=${testCase}`);

async function allOwnContainers(): Promise<string[]> {
  return (await dockerCli('ps', '-aq', '--filter', `label=session-lab.owner=${OWNER_ID}`)).split('\n').filter(Boolean);
}

describeDocker('container launcher', () => {
  afterAll(async () => {
    expect(await allOwnContainers()).toEqual([]);
  });

  describe.concurrent('cases side by side', () => {
    test('replicas of the reference image answer on their own loopback port; kill ends one, stop removes all', async () => {
      const launcher = containerLauncher({ image: await referenceImage(), reference: true });
      const lines: unknown[] = [];
      const backends = await Promise.all([1, 2].map((index) => launcher.start({ ...spec('replicas', index), onLog: (line) => lines.push(line) })));
      try {
        expect(backends.map((b) => new URL(b.url).hostname)).toEqual(['127.0.0.1', '127.0.0.1']);
        for (const backend of backends) {
          const res = await fetch(`${backend.url}/`);
          expect(res.headers.get('x-backend')).toBe(backend.name);
        }
        expect(await ownContainers('replicas')).toHaveLength(2);

        // pause freezes the container (docker pause) and lets it go on.
        const paused = async () => (await dockerCli('ps', '--filter', `label=session-lab.owner=${OWNER_ID}`, '--filter', 'status=paused', '-q')).trim() !== '';
        const pausing = backends[1].pause!(budgetShare(0.1));
        const deadline = Date.now() + timeoutBudgetMs();
        let sawPaused = false;
        while (!(sawPaused = await paused()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        await pausing;
        expect(sawPaused).toBe(true);
        expect(await paused()).toBe(false);
        expect((await fetch(`${backends[1].url}/health`)).status).toBe(200);

        await backends[0].kill();
        await backends[0].exited;
        await expect(fetch(`${backends[0].url}/health`)).rejects.toThrow();
        expect((await fetch(`${backends[1].url}/health`)).status).toBe(200);
      } finally {
        await Promise.all(backends.map((b) => b.stop()));
      }
      expect(await ownContainers('replicas')).toEqual([]);
    });

    test('a port taken between choosing it and binding it (EADDRINUSE): the replica starts on another one', async () => {
      // Host networking: a port free when chosen may be taken before the app binds it.
      const squatter = createServer().listen(0, '127.0.0.1');
      await once(squatter, 'listening');
      const taken = (squatter.address() as AddressInfo).port;
      const handedOut: number[] = [];
      const launcher = containerLauncher({
        image: await referenceImage(),
        reference: true,
        freePort: async () => {
          const port = handedOut.length === 0 ? taken : await freePort();
          handedOut.push(port);
          return port;
        },
      });
      try {
        const backend = await launcher.start(spec('port-taken', 1));
        try {
          expect(handedOut.length).toBe(2);
          expect(backend.url).toBe(`http://127.0.0.1:${handedOut[1]}`);
          expect((await fetch(`${backend.url}/health`)).headers.get('x-backend')).toBe('app-1');
        } finally {
          await backend.stop();
        }
      } finally {
        squatter.close();
      }
      expect(await ownContainers('port-taken')).toEqual([]);
    });

    test('a replica that exits before it is ready: exit 3 naming it and quoting its last output', async () => {
      const launcher = containerLauncher({
        image: BASE_IMAGE,
        command: ['node', '-e', 'console.log("listening soon"); console.error("Error: cannot find module ./server.js"); process.exit(4)'],
      });
      const error = await launcher.start(spec('exits', 2)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HarnessError);
      expect((error as HarnessError).code).toBe('SLAB_ERR_CONTAINER_START');
      expect((error as HarnessError).exitCode).toBe(3);
      expect((error as Error).message).toContain('replica app-2');
      expect((error as Error).message).toContain('cannot find module ./server.js');
      expect(await ownContainers('exits')).toEqual([]);
    });

    test('a replica never ready within the start-up timeout: exit 3, its container removed', async () => {
      const launcher = containerLauncher({
        image: BASE_IMAGE,
        // Short, so the test does not wait a whole budget; long enough for the container to print.
        startupTimeoutMs: budgetShare(0.2),
        command: ['node', '-e', 'console.log("warming up forever"); setInterval(() => {}, 1000)'],
      });
      const error = await launcher.start(spec('never-ready', 3)).catch((e: unknown) => e);
      expect((error as HarnessError).code).toBe('SLAB_ERR_CONTAINER_START');
      expect((error as Error).message).toContain(`not ready within ${budgetShare(0.2)} ms`);
      expect((error as Error).message).toContain('warming up forever');
      expect(await ownContainers('never-ready')).toEqual([]);
    });

    test('a missing image: exit 3 naming the image, no container created', async () => {
      const launcher = containerLauncher({ image: 'session-lab/no-such-app:1' });
      const error = await launcher.start(spec('missing-image', 1)).catch((e: unknown) => e);
      expect((error as HarnessError).code).toBe('SLAB_ERR_IMAGE_MISSING');
      expect((error as HarnessError).exitCode).toBe(3);
      expect((error as Error).message).toContain('session-lab/no-such-app:1');
      expect(await ownContainers('missing-image')).toEqual([]);
    });
  });
});
