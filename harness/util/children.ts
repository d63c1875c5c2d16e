import type { ChildProcess } from 'node:child_process';

/**
 * Every child process the harness starts is registered here the moment it
 * exists. When the harness process exits for any reason that still runs
 * JavaScript (normal end, uncaught error, process.exit from a signal
 * handler) the survivors are killed synchronously. For SIGKILL of the
 * harness, children rely on their own watch: backends exit when their IPC
 * channel closes, redis-server's keeper when its stdin closes.
 */
const live = new Map<ChildProcess, { group: boolean }>();

function killAll(): void {
  for (const [child, { group }] of live) {
    try {
      // A child that leads its own process group (the redis keeper) is
      // killed with its whole group, so its own children go too.
      if (group && child.pid) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

let hooked = false;

/** `group`: the child was spawned `detached` and leads a process group of its own. */
export function trackChild(child: ChildProcess, { group = false }: { group?: boolean } = {}): void {
  if (!hooked) {
    hooked = true;
    process.once('exit', killAll);
  }
  live.set(child, { group });
  child.once('exit', () => live.delete(child));
}

/** Resolves when the child has exited (at once if it already has). */
export function childExited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL after `graceMs`; never throws for a dead child. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  const exited = childExited(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill('SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** Whether a process with this pid exists (EPERM: it does, someone else's). A pid file's owner, for instance. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
