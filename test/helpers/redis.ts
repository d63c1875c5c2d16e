/**
 * Can a Redis be had (REDIS_URL, redis-server on PATH)? Tests that need one
 * use `describeRedis` / `testRedis`:
 *
 *   - a Redis can be had          → the tests run;
 *   - none, CI=true               → the tests fail, saying what is missing
 *                                   (.ci/run installs redis-server);
 *   - none, outside CI            → skipped, with a loud message saying how
 *                                   to get one.
 *
 * (A Docker engine alone also gives Redis through testcontainers; tests
 * that want that path use describeDocker from ./docker.js.)
 */
import { describe, test } from 'vitest';
import { findOnPath } from '../../harness/util/paths.js';

export const redisReason: string | undefined = process.env.REDIS_URL || findOnPath('redis-server') ? undefined : 'no REDIS_URL and no redis-server on PATH';

const HOW_TO = 'install redis-server (apt-get install redis-server, brew install redis) or set REDIS_URL, then run the tests again';

function missing(name: string): 'run' | 'fail' | 'skip' {
  if (!redisReason) return 'run';
  if (process.env.CI) return 'fail';
  process.stderr.write(`\n!!! SKIPPED "${name}": it needs Redis, and there is ${redisReason}. To run it, ${HOW_TO}.\n\n`);
  return 'skip';
}

/** `describe` for tests that need Redis: fails in CI without one, skips loudly elsewhere. */
export function describeRedis(name: string, body: () => void): void {
  const mode = missing(name);
  if (mode === 'run') describe(name, body);
  else if (mode === 'skip') describe.skip(name, body);
  else
    describe(name, () => {
      test('needs Redis', () => {
        throw new Error(`${redisReason}: CI must provide one (.ci/run installs redis-server)`);
      });
    });
}

/** `test` for one test that needs Redis: fails in CI without one, skips loudly elsewhere. */
export function testRedis(name: string, body: () => Promise<void>, timeout?: number): void {
  const mode = missing(name);
  if (mode === 'run') test(name, body, timeout);
  else if (mode === 'skip') test.skip(name, body);
  else
    test(name, () => {
      throw new Error(`${redisReason}: CI must provide one (.ci/run installs redis-server)`);
    });
}
