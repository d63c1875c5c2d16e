/**
 * One build of an image at a time on this machine. Harness processes that
 * start together on an engine without the image (test files side by side, a
 * worker and the CLI runs it starts) each found it missing and each built
 * it: the same context sent, the same layers made, N times over. The first
 * to take the lock builds; the others wait for it, then find the image.
 *
 *   process A ── lock ── build ── unlock
 *   process B ──── waits ─────────────── lock ── has it: no build ── unlock
 *
 * The lock is a file in the temp dir named by the engine and the image,
 * holding its owner's pid: a lock whose owner died (SIGKILL mid-build) is
 * taken over, and a waiter that runs out of time builds anyway, as it did
 * before the lock (a build is never refused for want of the lock).
 */
import { createHash } from 'node:crypto';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timeoutBudgetMs } from '../util/budget.js';
import { pidAlive } from '../util/children.js';

/** The lock file of `key` (e.g. the engine's address and the image's NAME:TAG). */
export function buildLockPath(key: string, dir = tmpdir()): string {
  return join(dir, `session-lab-build-${createHash('sha256').update(key).digest('hex').slice(0, 16)}.lock`);
}

/** Takes the lock: true once held, false when `deadline` passed first. `onBusy(owner)` each time another holds it. */
async function acquire(path: string, deadline: number, onBusy?: (owner: number) => void): Promise<boolean> {
  for (;;) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    // Its owner is gone: take it over (the unlink may race another waiter's; the 'wx' create decides).
    if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    onBusy?.(owner);
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs `fn` (check for the image, build it if still missing) holding the
 * lock of `key`; waits at most `timeoutMs` (default: twice the time budget,
 * a build on a busy machine) for another holder, then runs it anyway.
 */
export async function withBuildLock<T>(
  key: string,
  fn: () => Promise<T>,
  { timeoutMs = 2 * timeoutBudgetMs(), dir = tmpdir(), onBusy }: { timeoutMs?: number; dir?: string; onBusy?: (owner: number) => void } = {},
): Promise<T> {
  const path = buildLockPath(key, dir);
  const held = await acquire(path, Date.now() + timeoutMs, onBusy);
  try {
    return await fn();
  } finally {
    if (held) await unlink(path).catch(() => undefined);
  }
}
