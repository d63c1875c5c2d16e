/** Redis provisioning and the Redis session store, against a real redis-server. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { closedPort } from '../helpers/ports.js';
import { timeoutBudgetMs } from '../../harness/util/budget.js';
import { startCluster } from '../../harness/cluster.js';
import { HarnessError } from '../../harness/errors.js';
import { provisionRedis, startKeeper, type ProvisionedRedis } from '../../harness/redis/provision.js';
import { freePort } from '../../harness/util/net.js';
import { findOnPath } from '../../harness/util/paths.js';
import { RedisStore } from '../../servers/session/redis-store.js';
import { Redis } from 'ioredis';
import { runScenario } from '../../harness/runner/run.js';
import { loadScenario } from '../../harness/scenario/load.js';
import { descendantsOf, isAlive, waitForGone } from '../helpers/processes.js';
import { describeRedis, redisReason, testRedis } from '../helpers/redis.js';

let redis: ProvisionedRedis;
beforeAll(async () => {
  if (!redisReason) redis = await provisionRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describeRedis('redis store', () => {
  test('get/set/touch/destroy with a TTL, under its prefix only', async () => {
    const store = RedisStore.connect(redis.url, 'slab:test-a:');
    const other = RedisStore.connect(redis.url, 'slab:test-b:');
    try {
      await store.set('id1', { createdAt: 1, lastSeenAt: 1, user: 'alice', data: { n: 1 } }, 60_000);
      expect(await store.get('id1')).toEqual({ createdAt: 1, lastSeenAt: 1, user: 'alice', data: { n: 1 } });
      expect(await other.get('id1')).toBeUndefined();
      await store.touch('id1', 60_000);
      await store.destroy('id1');
      expect(await store.get('id1')).toBeUndefined();
    } finally {
      await store.close();
      await other.close();
    }
  });

  test('a record expires with its TTL', async () => {
    const store = RedisStore.connect(redis.url, 'slab:test-ttl:');
    try {
      await store.set('short', { createdAt: 1, lastSeenAt: 1, data: {} }, 30);
      const deadline = Date.now() + timeoutBudgetMs();
      while ((await store.get('short')) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(await store.get('short')).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  test('two clusters on one Redis use different prefixes and remove their keys when stopped', async () => {
    const a = await startCluster({ servers: 1, store: 'redis', redisUrl: redis.url });
    const b = await startCluster({ servers: 1, store: 'redis', redisUrl: redis.url });
    const client = new Redis(redis.url);
    try {
      expect(a.keyPrefix).not.toBe(b.keyPrefix);
      expect(a.redis?.source).toBe('REDIS_URL');
      await runScenario(a, loadScenario('checkout'));
      expect(await client.keys(`${a.keyPrefix}*`)).not.toEqual([]);
      expect(await client.keys(`${b.keyPrefix}*`)).toEqual([]);
      await a.stop();
      expect(await client.keys(`${a.keyPrefix}*`)).toEqual([]);
    } finally {
      client.disconnect();
      await a.stop();
      await b.stop();
    }
  });
});

describe('redis provisioning', () => {
  testRedis('a spawned redis-server answers, and it and its keeper are gone after stop', async () => {
    const own = await provisionRedis({ env: { ...process.env, REDIS_URL: '' } });
    expect(own.source).toBe('redis-server');
    const tree = [own.pid!, ...descendantsOf(own.pid!)];
    expect(tree).toHaveLength(2); // sh keeper + redis-server
    await own.stop();
    expect(await waitForGone(tree)).toEqual([]);
  });

  test('a keeper too slow to run its trap still takes redis-server with it when stopped', async () => {
    const keeper = await startKeeper(findOnPath('redis-server')!, await freePort(), 'keeper-test');
    expect(isAlive(keeper.redisPid)).toBe(true);
    // Stopped, the keeper cannot run its EXIT trap: the SIGTERM waits, the SIGKILL after the grace ends it.
    process.kill(keeper.pid, 'SIGSTOP');
    await keeper.stop();
    expect(isAlive(keeper.pid)).toBe(false);
    expect(await waitForGone([keeper.redisPid])).toEqual([]);
  });

  test('REDIS_URL at a closed port fails at once with SLAB_ERR_REDIS_UNAVAILABLE naming the store and URL', async () => {
    const port = await closedPort();
    const error = await provisionRedis({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HarnessError);
    expect((error as HarnessError).code).toBe('SLAB_ERR_REDIS_UNAVAILABLE');
    expect((error as HarnessError).exitCode).toBe(3);
    expect((error as HarnessError).message).toContain('store redis');
    expect((error as HarnessError).message).toContain(`127.0.0.1:${port}`);
  });

  test('no REDIS_URL, no redis-server and no Docker engine: the error lists the three ways to get Redis', async () => {
    const port = await closedPort();
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${port}`;
    try {
      const error = await provisionRedis({ env: { PATH: '' } }).catch((e: unknown) => e);
      expect((error as HarnessError).code).toBe('SLAB_ERR_REDIS_UNAVAILABLE');
      const message = (error as HarnessError).message;
      expect(message).toContain('REDIS_URL');
      expect(message).toContain('redis-server');
      expect(message).toContain('Docker');
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});
