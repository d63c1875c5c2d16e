import { describe, expect, test } from 'vitest';
import { freeze } from '../../harness/docker/freeze.js';

/** What the engine answers when runc gave up freezing a busy container (moby/moby#48205). */
const UNABLE = '(HTTP code 500) server error - Cannot pause container 72d0e9a6: OCI runtime pause failed: unable to freeze: unknown';

/** A pause that fails `failures` times with `message`, then succeeds; counts its calls. */
function flakyPause(failures: number, message = UNABLE) {
  const calls = { n: 0 };
  const pause = async () => {
    calls.n++;
    if (calls.n <= failures) throw new Error(message);
  };
  return { calls, pause };
}

describe('docker pause on a busy machine', () => {
  test('"unable to freeze" is retried until the container freezes', async () => {
    const { calls, pause } = flakyPause(3);
    await freeze(pause, 60_000);
    expect(calls.n).toBe(4);
  });

  test("any other engine error is the fault's failure at once", async () => {
    const { calls, pause } = flakyPause(1, '(HTTP code 409) unexpected - Container 72d0e9a6 is not running');
    await expect(freeze(pause, 60_000)).rejects.toThrow(/is not running/);
    expect(calls.n).toBe(1);
  });

  test('past its deadline the last "unable to freeze" is reported, not retried for ever', async () => {
    const { calls, pause } = flakyPause(Number.POSITIVE_INFINITY);
    await expect(freeze(pause, 0)).rejects.toThrow(/unable to freeze/);
    expect(calls.n).toBe(1);
  });
});
