/** `npm run demo` on a machine without Redis: the bug and the Redis-free cure still show, exit 0. */
import { mkdirSync, symlinkSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { waitForNoMarked } from '../helpers/processes.js';

/** A PATH holding only node: no redis-server to be found. */
function pathWithoutRedis(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'slab-demo-')), 'bin');
  mkdirSync(dir);
  symlinkSync(process.execPath, join(dir, 'node'));
  return dir;
}

test('demo without redis-server, REDIS_URL or Docker: replication resets, the sticky row, how to get Redis, exit 0', async () => {
  const result = await runCli(['demo'], { PATH: pathWithoutRedis(), REDIS_URL: '', DOCKER_HOST: 'unix:///nonexistent/slab-docker.sock' });
  expect(result.code).toBe(0);
  const row = (label: string) => result.stdout.split('\n').find((line) => line.startsWith(label));
  const roundRobin = row('memory (each server its own) + round-robin')!
    .trim()
    .split(/\s{2,}/);
  const sticky = row('memory (each server its own) + sticky')!
    .trim()
    .split(/\s{2,}/);
  // requests, resets, replication, other causes, failed expectations, outcome
  expect(Number(roundRobin[3])).toBeGreaterThan(0);
  expect(roundRobin.at(-1)).toBe('users logged out');
  expect(sticky.slice(2, 5).map(Number)).toEqual([0, 0, 0]);
  expect(sticky.at(-1)).toBe('sessions kept');
  expect(row('redis (shared)')).toBeUndefined();
  expect(result.stdout).toContain('The Redis row did not run');
  expect(result.stdout).toContain('redis-server on PATH');
  expect(result.stdout).toContain('cause: replication');
  expect(await waitForNoMarked(result.marker)).toEqual([]);
});
