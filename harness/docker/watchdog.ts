/**
 * One watchdog per harness process, started with its first container: a
 * small node process that removes the containers labelled with this
 * process's owner id when the harness goes away, however it goes (normal
 * exit, crash, Ctrl-C, SIGKILL). Ryuk would do this, but Ryuk is itself a
 * container on a bridge network, which these machines must not have.
 * `stop()` of each container remains the normal path; the watchdog is the
 * guarantee.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../util/paths.js';
import { LABEL_OWNER } from './engine.js';

/** This harness process's owner id, the value of every container's `session-lab.owner` label. */
export const OWNER_ID = `${process.pid}-${randomBytes(6).toString('hex')}`;

const WATCHDOG_SCRIPT = join(PACKAGE_ROOT, 'dist', 'harness', 'docker', 'watchdog-main.js');

let watchdog: ChildProcess | undefined;

/** The labels a container of this harness carries, so the watchdog can find it. */
export function ownerLabels(role: string): Record<string, string> {
  return { [LABEL_OWNER]: OWNER_ID, 'session-lab.role': role };
}

/** Starts the watchdog once per process; call before creating a container. */
export function ensureWatchdog(): void {
  if (watchdog && watchdog.exitCode === null && watchdog.signalCode === null) return;
  if (!existsSync(WATCHDOG_SCRIPT)) throw new Error(`${WATCHDOG_SCRIPT} is missing: run "npm run build" (npm ci does it) first`);
  const child = spawn(process.execPath, [WATCHDOG_SCRIPT, OWNER_ID], {
    // The pipe on its stdin is the whole protocol: it closes when we go.
    stdio: ['pipe', 'ignore', 'inherit'],
    // Its own process group, so a Ctrl-C or a group kill aimed at the harness
    // does not take the watchdog with it before it has swept.
    detached: true,
    env: process.env,
  });
  // Never keeps the harness alive on its own.
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  child.on('error', () => {});
  watchdog = child;
}
