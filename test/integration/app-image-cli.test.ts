/**
 * `session-lab run --app-image NAME[:TAG] [--app-port P]`: the replicas are
 * containers of the user's image. Here the image is the reference server's,
 * run standalone as any twelve-factor app (it reads PORT, HOST, BACKEND_ID,
 * REDIS_URL), not as session-lab's reference launcher.
 */
import { expect, test } from 'vitest';
import { referenceImage } from '../../harness/docker/reference-image.js';
import { runCli } from '../helpers/cli.js';
import { describeDocker } from '../helpers/docker.js';
import { waitForNoMarked } from '../helpers/processes.js';

describeDocker('run --app-image', () => {
  test.concurrent("an image's app as 3 replicas on memory sessions: replication resets; nothing left running", async () => {
    const run = await runCli(['run', 'login-browse', '--app-image', await referenceImage(), '--json']);
    expect(run.code, run.stderr).toBe(1);
    const json = JSON.parse(run.stdout) as { resets: { cause: string }[]; requestsPerBackend: Record<string, number> };
    expect(json.resets.length).toBeGreaterThan(0);
    expect(new Set(json.resets.map((reset) => reset.cause))).toEqual(new Set(['replication']));
    expect(Object.keys(json.requestsPerBackend).sort()).toEqual(['app-1', 'app-2', 'app-3']);
    expect(await waitForNoMarked(run.marker)).toEqual([]);
  });

  test.concurrent('a missing image is exit 3 naming it; --app-port with 3 replicas is exit 2; nothing left running', async () => {
    const missing = await runCli(['run', 'login-browse', '--app-image', 'session-lab-test/no-such-app:1']);
    expect(missing.code, missing.stderr).toBe(3);
    expect(missing.stderr).toContain('SLAB_ERR_IMAGE_MISSING');
    expect(missing.stderr).toContain('session-lab-test/no-such-app:1');
    const fixed = await runCli(['run', 'login-browse', '--app-image', 'session-lab-test/any:1', '--app-port', '3000']);
    expect(fixed.code, fixed.stderr).toBe(2);
    expect(fixed.stderr).toContain('--app-port 3000');
    expect(await waitForNoMarked(missing.marker)).toEqual([]);
    expect(await waitForNoMarked(fixed.marker)).toEqual([]);
  });
});
