/**
 * Warm reference backends: a cluster that stops cleanly hands its healthy
 * reference-server processes back here instead of killing them, and the next
 * cluster of this process takes them instead of forking. A fork costs ~0.12 s
 * of CPU before the server listens; a recycled process starts its next life
 * (store, app and server from scratch, from the new config) for a fraction of
 * that.
 *
 *   cluster.stop() ─▶ backend.release() ─▶ IPC `recycle` ─▶ idle line on stdout ─▶ put()
 *   startBackend()  ─▶ take(identity now) ─▶ IPC `start` + config ─▶ `listening`
 *                   └▶ nothing fits: fork, as always
 *
 * Reuse must be indistinguishable from a fresh process, so a process is
 * taken only when everything it was forked with (node, flags, script file,
 * working directory, environment) equals what a fork would get now: a test
 * that sets a marker variable between two clusters gets a process that has
 * it. Restarts, kills, pauses and clusters failing to start never come here
 * (backend-process.ts, replicas.ts).
 *
 * Nothing leaks: an idle process holds no reference on the harness's event
 * loop, dies after an idle limit (a share of the time budget), with its
 * parent (its IPC channel closes; the exit hook of util/children.ts kills it
 * on any exit that runs JavaScript) and when the pool is drained:
 * `stopIdleBackends()`, which the CLI calls before it exits and which runs by
 * itself when the harness's event loop runs dry.
 */
import { statSync } from 'node:fs';
import { BACKEND_CONFIG_ENV } from '../../servers/config.js';
import { HarnessError } from '../errors.js';
import { budgetShare } from '../util/budget.js';

/** `0` turns reuse off; a positive integer is how many idle processes the pool keeps. */
export const WARM_BACKENDS_ENV = 'SLAB_WARM_BACKENDS';
export const DEFAULT_WARM_BACKENDS = 8;
const MAX_WARM_BACKENDS = 64;

/** How long an idle process waits for a cluster before it is stopped: a share of the time budget. */
export const idleLimitMs = (): number => budgetShare(0.2);

/** How many idle processes to keep (SLAB_WARM_BACKENDS); a malformed value is bad input. */
export function warmBackendsLimit(): number {
  const given = process.env[WARM_BACKENDS_ENV];
  if (given === undefined || given === '') return DEFAULT_WARM_BACKENDS;
  const n = Number(given.trim());
  if (!(/^\d+$/.test(given.trim()) && n <= MAX_WARM_BACKENDS)) {
    throw new HarnessError(
      'SLAB_ERR_OPTION_INVALID',
      `${WARM_BACKENDS_ENV}: expected 0 (no reuse) or how many idle backends to keep, up to ${MAX_WARM_BACKENDS}, got ${JSON.stringify(given.slice(0, 40))}`,
    );
  }
  return n;
}

/** Everything a forked process got from the harness that its code could see. */
export interface ForkIdentity {
  execPath: string;
  execArgv: readonly string[];
  script: string;
  /** The script file's inode, size and mtime: a rebuilt server is not the one running. */
  scriptStamp: string;
  cwd: string;
  /** The harness's environment at the fork, without the backend config (which each life replaces). */
  env: Readonly<Record<string, string | undefined>>;
}

/** What a process forked now from `script` with `execArgv` would get. */
export function forkIdentity(script: string, execArgv: readonly string[]): ForkIdentity {
  let scriptStamp = 'missing';
  try {
    const stat = statSync(script);
    scriptStamp = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    // startBackend reports a missing script
  }
  const env: Record<string, string | undefined> = { ...process.env };
  delete env[BACKEND_CONFIG_ENV];
  return { execPath: process.execPath, execArgv: [...execArgv], script, scriptStamp, cwd: process.cwd(), env };
}

export function sameIdentity(a: ForkIdentity, b: ForkIdentity): boolean {
  if (a.execPath !== b.execPath || a.script !== b.script || a.scriptStamp !== b.scriptStamp || a.cwd !== b.cwd) return false;
  if (a.execArgv.length !== b.execArgv.length || a.execArgv.some((arg, i) => arg !== b.execArgv[i])) return false;
  const keys = Object.keys(a.env);
  return keys.length === Object.keys(b.env).length && keys.every((key) => Object.hasOwn(b.env, key) && a.env[key] === b.env[key]);
}

/** An idle process as the pool sees it (backend-process.ts implements it). */
export interface WarmProcess {
  readonly pid: number;
  readonly identity: ForkIdentity;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** Whether the process holds the harness's event loop open. */
  setRef(ref: boolean): void;
  /** Ends the process (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

interface Entry {
  process: WarmProcess;
  timer: NodeJS.Timeout;
}

const idle: Entry[] = [];
let hooked = false;

function remove(entry: Entry): boolean {
  const index = idle.indexOf(entry);
  if (index < 0) return false;
  idle.splice(index, 1);
  clearTimeout(entry.timer);
  return true;
}

/** Keeps an idle process for the next cluster, or stops it when reuse is off or it cannot be reused. */
export function putIdle(process_: WarmProcess): Promise<void> {
  let limit: number;
  try {
    limit = warmBackendsLimit();
  } catch {
    limit = 0; // changed to something malformed since the start; the next start says so
  }
  if (limit === 0 || !sameIdentity(process_.identity, forkIdentity(process_.identity.script, process_.identity.execArgv))) return process_.stop();
  if (!hooked) {
    hooked = true;
    // The harness has nothing left to do but idle backends: end them, so a library user's script ends too.
    process.on('beforeExit', () => {
      if (idle.length) void stopIdleBackends();
    });
  }
  const evicted = idle.length >= limit ? idle[0] : undefined;
  const entry: Entry = {
    process: process_,
    timer: setTimeout(() => {
      if (remove(entry)) void process_.stop();
    }, idleLimitMs()).unref(),
  };
  idle.push(entry);
  process_.setRef(false);
  void process_.exited.then(() => remove(entry));
  if (evicted && remove(evicted)) return evicted.process.stop();
  return Promise.resolve();
}

/** The most recently idled process forked as a fork would be now, taken out of the pool; undefined if none. */
export function takeIdle(identity: ForkIdentity): WarmProcess | undefined {
  for (let i = idle.length - 1; i >= 0; i--) {
    const entry = idle[i];
    if (!sameIdentity(entry.process.identity, identity)) continue;
    remove(entry);
    entry.process.setRef(true);
    return entry.process;
  }
  return undefined;
}

/** Takes a process out of the pool because it misbehaved while idle; the caller kills it. */
export function dropIdle(process_: WarmProcess): void {
  const entry = idle.find((e) => e.process === process_);
  if (entry) remove(entry);
}

/** The pids of the idle processes, oldest first. */
export function idleBackendPids(): number[] {
  return idle.map((entry) => entry.process.pid);
}

/**
 * Stops every idle reference backend now and resolves once they have
 * exited. The pool's processes never keep a process alive, and they die with
 * it; call this when a long-lived process (a test runner, a server) is done
 * with clusters for a while, or before checking that nothing it started
 * still runs. The CLI calls it before it exits.
 */
export async function stopIdleBackends(): Promise<void> {
  const entries = idle.splice(0);
  for (const entry of entries) clearTimeout(entry.timer);
  await Promise.all(entries.map((entry) => entry.process.stop()));
}
