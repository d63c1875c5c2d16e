/**
 * One watchdog per harness process, started with its first container: a
 * small node process that removes the containers labelled with this
 * process's owner id when the harness goes away, however it goes (normal
 * exit, crash, Ctrl-C, SIGKILL). Ryuk would do this, but Ryuk is itself a
 * container on a bridge network, which these machines must not have.
 * `stop()` of each container remains the normal path; the watchdog is the
 * guarantee.
 *
 * The protocol is the pipe on the watchdog's stdin, one word a line:
 *
 *   harness ──"dirty"──▶ watchdog   a container may exist (said and flushed before each creation)
 *   harness ──"clean"──▶ watchdog   every container it created is known to be removed
 *   pipe closes                     the harness is gone: after "clean", nothing to do;
 *                                   otherwise (or with no word) sweep the owner's containers
 *
 * So a clean shutdown costs the watchdog no Docker client (~0.6 s of CPU to
 * load), and a crash or SIGKILL in any state is still swept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { PACKAGE_ROOT } from '../util/paths.js';
import { LABEL_OWNER } from './engine.js';

/** This harness process's owner id, the value of every container's `session-lab.owner` label. */
export const OWNER_ID = `${process.pid}-${randomBytes(6).toString('hex')}`;

export const WATCHDOG_SCRIPT = join(PACKAGE_ROOT, 'dist', 'harness', 'docker', 'watchdog-main.js');

/** The words of the stdin protocol. */
export const WATCHDOG_DIRTY = 'dirty';
export const WATCHDOG_CLEAN = 'clean';

let watchdog: ChildProcess | undefined;
/** Containers created (or being created) and not yet known to be removed. */
let live = 0;
/** The last word the watchdog was told; a new watchdog assumes "dirty". */
let told: typeof WATCHDOG_DIRTY | typeof WATCHDOG_CLEAN = WATCHDOG_DIRTY;
/** The "dirty" write in flight: every creation waits until it is in the pipe. */
let announcing: Promise<void> = Promise.resolve();

/** The labels a container of this harness carries, so the watchdog can find it. */
export function ownerLabels(role: string): Record<string, string> {
  return { [LABEL_OWNER]: OWNER_ID, 'session-lab.role': role };
}

/** Starts the watchdog process for `owner`; its stdin is the protocol pipe. */
export function spawnWatchdog(owner: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  if (!existsSync(WATCHDOG_SCRIPT)) throw new Error(`${WATCHDOG_SCRIPT} is missing: run "npm run build" (npm ci does it) first`);
  const child = spawn(process.execPath, [WATCHDOG_SCRIPT, owner], {
    stdio: ['pipe', 'ignore', 'inherit'],
    // Its own process group, so a Ctrl-C or a group kill aimed at the harness
    // does not take the watchdog with it before it has swept.
    detached: true,
    env,
  });
  child.on('error', () => {});
  // A watchdog that died already: the write fails, and the next ensureWatchdog() starts another.
  child.stdin!.on('error', () => {});
  return child;
}

/** Starts the watchdog once per process; call before creating a container. */
export function ensureWatchdog(): void {
  if (watchdog && watchdog.exitCode === null && watchdog.signalCode === null) return;
  const child = spawnWatchdog(OWNER_ID);
  // Never keeps the harness alive on its own.
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  watchdog = child;
  told = WATCHDOG_DIRTY;
}

function tell(word: typeof WATCHDOG_DIRTY | typeof WATCHDOG_CLEAN): Promise<void> {
  told = word;
  const pipe = watchdog?.stdin as Writable | undefined;
  if (!pipe || pipe.destroyed) return Promise.resolve();
  // Resolved once the word is in the pipe (or the pipe is broken: then the watchdog is gone and sweeps).
  return new Promise((resolve) => pipe.write(`${word}\n`, () => resolve()));
}

/**
 * Call before creating a container: starts the watchdog, tells it a
 * container may exist, and resolves once it has been told. Call the returned
 * `removed()` once the container is known to be gone (removed, or never
 * created); when no container is left, the watchdog is told "clean".
 * A container never marked removed keeps the watchdog's sweep armed.
 */
export async function watchContainer(): Promise<{ removed(): void }> {
  ensureWatchdog();
  live++;
  if (told === WATCHDOG_CLEAN) announcing = tell(WATCHDOG_DIRTY);
  await announcing;
  let done = false;
  return {
    removed() {
      if (done) return;
      done = true;
      live--;
      if (live === 0 && told === WATCHDOG_DIRTY) void tell(WATCHDOG_CLEAN);
    },
  };
}
