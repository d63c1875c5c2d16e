/**
 * REDIS_URL's form, checked before anything loads or connects: a malformed
 * one is bad input for the stores that would use it, and never quoted with
 * its password; the stores that start their own Redis ignore it.
 */
import { describe, expect, test } from 'vitest';
import { checkRedisUrl, checkRedisUrlEnv, storeTakesRedisUrl } from '../../harness/redis/redis-url.js';
import { STORE_KINDS } from '../../harness/store/store-kinds.js';

function refusal(run: () => void): { code?: string; message: string } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error as { code?: string; message: string };
  }
}

describe('REDIS_URL', () => {
  test('the stores on one Redis take it; memory and the replicated stores do not', () => {
    expect(STORE_KINDS.filter(storeTakesRedisUrl)).toEqual(['redis', 'redis-locking']);
  });

  test('a malformed one is refused for a store that takes it, naming the variable, the value and the form expected', () => {
    for (const url of ['redis://[::1', 'http://127.0.0.1:6379', 'redis://', 'localhost:6379']) {
      const error = refusal(() => checkRedisUrlEnv(['memory', 'redis-locking'], { REDIS_URL: url }));
      expect(error?.code, url).toBe('SLAB_ERR_OPTION_INVALID');
      expect(error?.message).toContain('REDIS_URL: expected a URL like redis://[:PASSWORD@]HOST:PORT, got ');
    }
  });

  test('ignored when no store takes it, or unset; a well-formed one passes', () => {
    expect(refusal(() => checkRedisUrlEnv(['memory', 'redis-sentinel', 'redis-cluster'], { REDIS_URL: 'redis://[::1' }))).toBeUndefined();
    expect(refusal(() => checkRedisUrlEnv(['redis'], {}))).toBeUndefined();
    for (const url of ['redis://127.0.0.1:6379', 'rediss://:pw@cache.example.test:6380/2', 'redis://[::1]:6379']) {
      expect(
        refusal(() => checkRedisUrlEnv(['redis'], { REDIS_URL: url })),
        url,
      ).toBeUndefined();
    }
  });

  test('the password is never quoted', () => {
    const error = refusal(() => checkRedisUrl('http://user:hunter2@127.0.0.1:1', 'REDIS_URL'));
    expect(error?.message).toContain('"http://***@127.0.0.1:1"');
    expect(error?.message).not.toContain('hunter2');
  });
});
