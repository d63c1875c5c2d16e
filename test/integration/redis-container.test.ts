/**
 * Redis as a container through testcontainers (harness/redis/redis-container.ts):
 * the store of `--runtime docker` and provisionRedis's last resort.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Redis } from 'ioredis';
import { OWNER_ID } from '../../harness/docker/watchdog.js';
import { timeoutBudgetMs } from '../../harness/util/budget.js';
import { pingRedis, provisionRedis } from '../../harness/redis/provision.js';
import { describeDocker, dockerCli } from '../helpers/docker.js';

async function ownContainers(): Promise<string[]> {
  return (await dockerCli('ps', '-aq', '--filter', `label=session-lab.owner=${OWNER_ID}`)).split('\n').filter(Boolean);
}

// Side by side: this process's Redis container, and another harness's.
describe.concurrent('containers of Redis', () => {
  describeDocker('redis container', () => {
    test('answers at 127.0.0.1, restarts empty at the same URL, kill stays down, stop removes it', async () => {
      const redis = await provisionRedis({ container: true, env: {} });
      try {
        expect(redis.source).toBe('testcontainers');
        expect(new URL(redis.url).hostname).toBe('127.0.0.1');
        // Password-protected, as a spawned redis-server is.
        const url = new URL(redis.url);
        url.password = '';
        await expect(pingRedis(url.href, 1000)).rejects.toThrow(/NOAUTH|Authentication/i);
        const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
        await client.connect();
        await client.set('k', 'v');
        client.disconnect();
        expect(await ownContainers()).toHaveLength(1);

        await redis.restart();
        const again = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
        await again.connect();
        expect(await again.get('k')).toBeNull();
        again.disconnect();
        expect(await ownContainers()).toHaveLength(1);

        await redis.kill();
        await expect(pingRedis(redis.url, 500)).rejects.toThrow();
      } finally {
        await redis.stop();
      }
      expect(await ownContainers()).toEqual([]);
    });
  });

  describeDocker('container cleanup', () => {
    test('SIGKILL of the harness: the watchdog removes its containers', async () => {
      const dist = (file: string) => pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'harness', file)).href;
      const script =
        `const { provisionRedis } = await import(${JSON.stringify(dist('redis/provision.js'))});` +
        `const { OWNER_ID } = await import(${JSON.stringify(dist('docker/watchdog.js'))});` +
        `await provisionRedis({ container: true, env: {} });` +
        `console.log(OWNER_ID); setInterval(() => {}, 1000);`;
      const harness = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const owner = await new Promise<string>((resolve, reject) => {
        createInterface({ input: harness.stdout! }).once('line', resolve);
        harness.once('exit', (code) => reject(new Error(`the harness exited with ${code} before starting Redis`)));
      });
      const filter = `label=session-lab.owner=${owner}`;
      expect((await dockerCli('ps', '-aq', '--filter', filter)).trim()).not.toBe('');
      harness.kill('SIGKILL');
      // Poll against a generous deadline: the watchdog sweeps once it sees the pipe close.
      const deadline = Date.now() + 2 * timeoutBudgetMs();
      let left = 'unchecked';
      while (Date.now() < deadline) {
        left = (await dockerCli('ps', '-aq', '--filter', filter)).trim();
        if (left === '') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(left).toBe('');
    });
  });
});
