/**
 * harness/docker/build-lock.ts: one build of an image at a time on this
 * machine — a second process waits for the first, a dead owner's lock is
 * taken over, a live owner's is never removed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { buildLockPath, withBuildLock } from '../../harness/docker/build-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'slab-build-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A pid no process has (above Linux's pid_max). */
const DEAD_PID = 2 ** 31 - 2;

describe('build lock', () => {
  test('a second build of the same image waits until the first has finished, then runs', async () => {
    const order: string[] = [];
    let second: Promise<void> | undefined;
    await withBuildLock(
      'engine image:1',
      async () => {
        order.push('first starts');
        // The second asks while the first holds the lock: it finds the lock held (by this process), and waits.
        let busy!: () => void;
        const sawBusy = new Promise<void>((resolve) => (busy = resolve));
        second = withBuildLock('engine image:1', async () => void order.push('second runs'), { dir, onBusy: () => busy() });
        await sawBusy;
        order.push('first ends');
      },
      { dir },
    );
    await second;
    expect(order).toEqual(['first starts', 'first ends', 'second runs']);
    expect(existsSync(buildLockPath('engine image:1', dir))).toBe(false);
  });

  test('another image, or another engine, does not wait', async () => {
    const ran: string[] = [];
    await withBuildLock(
      'engine image:1',
      async () => {
        await withBuildLock('engine image:2', async () => void ran.push('image:2'), { dir, onBusy: () => ran.push('waited') });
        await withBuildLock('other-engine image:1', async () => void ran.push('other engine'), { dir, onBusy: () => ran.push('waited') });
      },
      { dir },
    );
    expect(ran).toEqual(['image:2', 'other engine']);
  });

  test('a lock whose owner died (SIGKILL mid-build) is taken over, and released after', async () => {
    const path = buildLockPath('engine image:3', dir);
    writeFileSync(path, `${DEAD_PID}\n`);
    let owner = '';
    await withBuildLock('engine image:3', async () => void (owner = readFileSync(path, 'utf8').trim()), { dir });
    expect(owner).toBe(String(process.pid));
    expect(existsSync(path)).toBe(false);
  });

  test("a live owner's lock is never removed: past the wait, the build runs anyway and leaves it", async () => {
    const path = buildLockPath('engine image:4', dir);
    // This process stands for a live owner in another process.
    writeFileSync(path, `${process.pid}\n`);
    const owners: number[] = [];
    const result = await withBuildLock('engine image:4', async () => 'built', { dir, timeoutMs: 0, onBusy: (owner) => owners.push(owner) });
    expect(result).toBe('built');
    expect(owners).toEqual([process.pid]);
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
  });

  test('a build that fails releases the lock, and its error reaches the caller', async () => {
    await expect(
      withBuildLock(
        'engine image:5',
        async () => {
          throw new Error('no space left on device');
        },
        { dir },
      ),
    ).rejects.toThrow('no space left on device');
    expect(existsSync(buildLockPath('engine image:5', dir))).toBe(false);
  });
});
