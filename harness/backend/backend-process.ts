/**
 * The reference server (servers/app.ts) as a child process of the harness,
 * forked with its config, or a warm one from the pool (warm-pool.ts) given
 * its next config over IPC. Its stdout carries one pino line per request,
 * handed to the cluster of the life that wrote it.
 *
 *   startBackend ─▶ takeIdle() ─▶ `start` over IPC ─┐
 *                └▶ fork(app.js, config in env) ────┴▶ `listening` + port ─▶ StartedBackend
 *   release()    ─▶ `recycle` ─▶ idle line on stdout ─▶ putIdle()   (a clean cluster stop)
 *   stop() / kill() / pause() ─▶ the process ends, or is never recycled
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { BACKEND_CONFIG_ENV, IDLE_LINE_PREFIX, type BackendCommand, type BackendConfig, type ListeningMessage } from '../../servers/config.js';
import { budgetHint, budgetShare, timeoutBudgetMs } from '../util/budget.js';
import { HarnessError } from '../errors.js';
import { childExited, stopChild, trackChild } from '../util/children.js';
import { SERVER_SCRIPT } from '../util/paths.js';
import { dropIdle, forkIdentity, putIdle, takeIdle, warmBackendsLimit, type ForkIdentity, type WarmProcess } from './warm-pool.js';

/** One backend's pino line, as the harness receives it. */
export interface BackendLogLine {
  backend: string;
  time: number;
  method?: string;
  path?: string;
  status?: number;
  session?: string;
  sid?: string;
  [key: string]: unknown;
}

/** A running app server: a process of its own, or a container (no pid then). */
export interface StartedBackend {
  readonly name: string;
  readonly url: string;
  readonly pid?: number;
  /** Resolves when the backend is gone: its process exited, for whatever reason, or (released) its life ended. */
  readonly exited: Promise<void>;
  stop(): Promise<void>;
  /**
   * A clean stop of a healthy backend: ends its life but keeps its process
   * for the next cluster when that process can serve it as a fresh one
   * would (a warm reference server, warm-pool.ts); otherwise stop(). Shares
   * stop()'s idempotence: whichever comes first, the second awaits it.
   */
  release?(): Promise<void>;
  /** SIGKILL: no shutdown, as a crash. */
  kill(): Promise<void>;
  /** Freezes it for `ms` (a container: docker pause), then lets it go on. */
  pause?(ms: number): Promise<void>;
}

export interface StartBackendOptions {
  config: BackendConfig;
  onLog?: (line: BackendLogLine) => void;
  timeoutMs?: number;
  /** A brand-new process, never a warm one: a restart is about losing what the process held. */
  fresh?: boolean;
}

/** A message over IPC that ends the wait for a life's port. */
type StartOutcome = { port: number } | { error: Error };

/** One forked reference server, across the lives it serves clusters in. */
class ServerProcess implements WarmProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** Lives begun, from 1: a handle acts on the process only while its life is the current one. */
  life = 1;
  #onLog?: (line: BackendLogLine) => void;
  #stderr = '';
  #idle = false;
  /** Said or wrote something while idle, or answered out of turn: never reused. */
  #misbehaving = false;
  #onIdleLine?: () => void;

  constructor(
    readonly identity: ForkIdentity,
    config: BackendConfig,
    onLog: ((line: BackendLogLine) => void) | undefined,
  ) {
    this.#onLog = onLog;
    this.child = fork(identity.script, [], {
      env: { ...identity.env, [BACKEND_CONFIG_ENV]: JSON.stringify(config) },
      // No loader flags from a parent running under tsx or vitest: plain, fast node.
      execArgv: [...identity.execArgv],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    trackChild(this.child);
    this.exited = childExited(this.child);
    // Send failures arrive in send()'s callback; a channel error shows as the exit that follows.
    this.child.on('error', () => undefined);
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (this.#idle) return this.#misbehaved();
      if (this.#stderr.length < 4000) this.#stderr += chunk;
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.#line(line));
    this.child.on('message', () => {
      if (this.#idle) this.#misbehaved();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Alive and never misbehaved: fit for another life. */
  get reusable(): boolean {
    return this.alive && !this.#misbehaving;
  }

  #line(line: string): void {
    if (line.startsWith(IDLE_LINE_PREFIX)) {
      const confirm = this.#onIdleLine;
      this.#onIdleLine = undefined;
      // Only ever as the answer to `recycle`.
      return confirm ? confirm() : this.#misbehaved();
    }
    if (this.#idle) return this.#misbehaved();
    if (!this.#onLog) return;
    try {
      this.#onLog(JSON.parse(line) as BackendLogLine);
    } catch {
      // not a log line; ignore
    }
  }

  /** Said or wrote something while idle: out of the pool and killed, never reused. */
  #misbehaved(): void {
    this.#misbehaving = true;
    dropIdle(this);
    void this.kill();
  }

  /** The port of the life starting now, from its `listening` message. */
  listening(name: string, timeoutMs: number): Promise<number> {
    const child = this.child;
    return new Promise<number>((resolve, reject) => {
      const settle = (outcome: StartOutcome) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if ('port' in outcome) resolve(outcome.port);
        else reject(new HarnessError('SLAB_ERR_BACKEND_START', `backend ${name} failed to start: ${outcome.error.message}`, { cause: outcome.error }));
      };
      const timer = setTimeout(() => settle({ error: new Error(`no "listening" message within ${timeoutMs} ms ${budgetHint()}`) }), timeoutMs);
      const onMessage = (message: ListeningMessage) => settle(message?.type === 'listening' ? { port: message.port } : { error: new Error(`unexpected first message ${JSON.stringify(message)}`) });
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        settle({ error: new Error(`exited with ${signal ?? `code ${code}`} before listening${this.#stderr ? `: ${this.#stderr.trim()}` : ''}`) });
      child.once('message', onMessage);
      child.once('exit', onExit);
      if (!this.alive) onExit(this.child.exitCode, this.child.signalCode);
    });
  }

  #send(command: BackendCommand): Promise<boolean> {
    return new Promise((resolve) => {
      try {
        this.child.send(command, (error) => resolve(!error));
      } catch {
        resolve(false);
      }
    });
  }

  /** Begins the next life of an idle process from `config`; resolves with its port. */
  async begin(config: BackendConfig, onLog: ((line: BackendLogLine) => void) | undefined, timeoutMs: number): Promise<number> {
    this.life++;
    this.#idle = false;
    this.#stderr = '';
    this.#onLog = onLog;
    const port = this.listening(config.name, timeoutMs);
    if (!(await this.#send({ type: 'start', config }))) {
      port.catch(() => undefined);
      throw new Error('its IPC channel is closed');
    }
    return port;
  }

  /**
   * Ends the current life: true once the process has confirmed, on stdout
   * after the last log line of that life, that it is idle. From then on no
   * line reaches that life's onLog.
   */
  async recycle(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const confirmed = new Promise<boolean>((resolve) => {
      this.#onIdleLine = () => {
        // At once, before the next line of the same chunk is read: nothing after the idle line is the old life's.
        this.#idle = true;
        this.#onLog = undefined;
        resolve(true);
      };
      timer = setTimeout(() => resolve(false), timeoutMs);
      void this.exited.then(() => resolve(false));
    });
    const ok = (await this.#send({ type: 'recycle' })) && (await confirmed);
    clearTimeout(timer);
    this.#onIdleLine = undefined;
    this.#onLog = undefined;
    return ok && this.reusable;
  }

  setRef(ref: boolean): void {
    const handles = [this.child, this.child.channel, this.child.stdout, this.child.stderr] as ({ ref?(): void; unref?(): void } | null | undefined)[];
    for (const handle of handles) {
      if (ref) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  stop(graceMs?: number): Promise<void> {
    return stopChild(this.child, graceMs);
  }

  async kill(): Promise<void> {
    try {
      this.child.kill('SIGKILL');
    } catch {
      // already gone
    }
    await this.exited;
  }
}

export async function startBackend({ config, onLog, timeoutMs = timeoutBudgetMs(), fresh = false }: StartBackendOptions): Promise<StartedBackend> {
  if (!existsSync(SERVER_SCRIPT)) {
    throw new HarnessError('SLAB_ERR_BACKEND_START', `${SERVER_SCRIPT} is missing: run "npm run build" (npm ci does it) first`);
  }
  const warmLimit = warmBackendsLimit();
  const identity = forkIdentity(SERVER_SCRIPT, []);
  const warm = fresh || warmLimit === 0 ? undefined : (takeIdle(identity) as ServerProcess | undefined);
  if (warm) {
    try {
      return lifeOf(warm, config, await warm.begin(config, onLog, timeoutMs));
    } catch {
      // A warm process that cannot begin a life is killed; a fresh one decides what the user sees.
      await warm.kill();
    }
  }
  const process_ = new ServerProcess(identity, config, onLog);
  try {
    return lifeOf(process_, config, await process_.listening(config.name, timeoutMs));
  } catch (error) {
    await process_.stop(200);
    throw error;
  }
}

/** The handle of the life `process_` has just begun. */
function lifeOf(process_: ServerProcess, config: BackendConfig, port: number): StartedBackend {
  const life = process_.life;
  /** Paused or killed: whatever it held or missed, it is never recycled. */
  let tainted = false;
  let released!: () => void;
  const lifeEnded = new Promise<void>((resolve) => (released = resolve));
  /** Its life went back to the pool: the process is no longer this handle's to stop, kill or pause. */
  let handedOn = false;
  /** This handle still speaks for the process. */
  const current = () => process_.life === life && !handedOn;
  let ending: Promise<void> | undefined;
  const stop = () => (ending ??= current() ? process_.stop() : Promise.resolve());
  return {
    name: config.name,
    url: `http://127.0.0.1:${port}`,
    pid: process_.pid,
    exited: Promise.race([process_.exited, lifeEnded]),
    stop,
    release: () =>
      (ending ??= (async () => {
        if (tainted || !process_.reusable) return process_.stop();
        if (!(await process_.recycle(budgetShare(0.1)))) return process_.stop(200);
        handedOn = true;
        released();
        await putIdle(process_);
      })()),
    async pause(ms: number) {
      if (!current()) return;
      tainted = true;
      process_.child.kill('SIGSTOP');
      try {
        await new Promise((resolve) => setTimeout(resolve, ms));
      } finally {
        process_.child.kill('SIGCONT');
      }
    },
    kill: async () => {
      tainted = true;
      if (current()) await process_.kill();
    },
  };
}
