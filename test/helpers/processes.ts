/**
 * Leak checks (Linux /proc). Node backends and the redis keeper inherit the
 * harness's environment, so a marker variable finds them; redis-server
 * rewrites its own environ (setproctitle), so it is found as a descendant
 * of the harness while the harness runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { timeoutBudgetMs } from '../../harness/util/budget.js';

interface Proc {
  pid: number;
  ppid: number;
  zombie: boolean;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), zombie: fields[0] === 'Z' };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

export function isAlive(pid: number): boolean {
  const proc = readProc(pid);
  return proc !== undefined && !proc.zombie;
}

export function pidsWithMarker(marker: string): number[] {
  const needle = `SLAB_TEST_MARK=${marker}`;
  // One read per process: a zombie's environ reads empty (its memory is gone), so it never matches.
  return allPids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(needle);
    } catch {
      return false;
    }
  });
}

/** Every live process below `root`, at this moment. */
export function descendantsOf(root: number): number[] {
  const procs = allPids()
    .map(readProc)
    .filter((p): p is Proc => p !== undefined && !p.zombie);
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const proc of procs) {
      if (proc.ppid === parent) {
        found.push(proc.pid);
        queue.push(proc.pid);
      }
    }
  }
  return found;
}

async function pollFor<T>(read: () => T, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Polls until none of `pids` is alive; returns those still alive at the deadline. */
export function waitForGone(pids: number[], timeoutMs = timeoutBudgetMs()): Promise<number[]> {
  return pollFor(
    () => pids.filter(isAlive),
    (left) => left.length === 0,
    timeoutMs,
  );
}

/** Polls until no process carries the marker; returns what is left at the deadline. */
export function waitForNoMarked(marker: string, timeoutMs = timeoutBudgetMs()): Promise<number[]> {
  return pollFor(
    () => pidsWithMarker(marker),
    (left) => left.length === 0,
    timeoutMs,
  );
}

/** Polls until `root` has at least `count` descendants. */
export async function waitForDescendants(root: number, count: number, timeoutMs = timeoutBudgetMs()): Promise<number[]> {
  const found = await pollFor(
    () => descendantsOf(root),
    (pids) => pids.length >= count,
    timeoutMs,
  );
  if (found.length < count) throw new Error(`only ${found.length} of ${count} child processes after ${timeoutMs} ms`);
  return found;
}
