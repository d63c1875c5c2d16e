import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { BACKEND_CONFIG_ENV, type BackendConfig, type ListeningMessage } from '../../servers/config.js';
import { budgetHint, timeoutBudgetMs } from '../util/budget.js';
import { HarnessError } from '../errors.js';
import { childExited, stopChild, trackChild } from '../util/children.js';
import { SERVER_SCRIPT } from '../util/paths.js';

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
  /** Resolves when the process has exited, for whatever reason. */
  readonly exited: Promise<void>;
  stop(): Promise<void>;
  /** SIGKILL: no shutdown, as a crash. */
  kill(): Promise<void>;
  /** Freezes it for `ms` (a container: docker pause), then lets it go on. */
  pause?(ms: number): Promise<void>;
}

export interface StartBackendOptions {
  config: BackendConfig;
  onLog?: (line: BackendLogLine) => void;
  timeoutMs?: number;
}

export async function startBackend({ config, onLog, timeoutMs = timeoutBudgetMs() }: StartBackendOptions): Promise<StartedBackend> {
  if (!existsSync(SERVER_SCRIPT)) {
    throw new HarnessError('SLAB_ERR_BACKEND_START', `${SERVER_SCRIPT} is missing: run "npm run build" (npm ci does it) first`);
  }
  const child: ChildProcess = fork(SERVER_SCRIPT, [], {
    env: { ...process.env, [BACKEND_CONFIG_ENV]: JSON.stringify(config) },
    // No loader flags from a parent running under tsx or vitest: plain, fast node.
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  trackChild(child);
  const exited = childExited(child);

  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 4000) stderr += chunk;
  });
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    if (!onLog) return;
    try {
      onLog(JSON.parse(line) as BackendLogLine);
    } catch {
      // not a log line; ignore
    }
  });

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening" message within ${timeoutMs} ms ${budgetHint()}`)), timeoutMs);
      child.once('message', (message: ListeningMessage) => {
        clearTimeout(timer);
        if (message?.type === 'listening') resolve(message.port);
        else reject(new Error(`unexpected first message ${JSON.stringify(message)}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${signal ?? `code ${code}`} before listening${stderr ? `: ${stderr.trim()}` : ''}`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    let stopping: Promise<void> | undefined;
    return {
      name: config.name,
      url: `http://127.0.0.1:${port}`,
      pid: child.pid!,
      exited,
      stop: () => (stopping ??= stopChild(child)),
      async pause(ms: number) {
        child.kill('SIGSTOP');
        try {
          await new Promise((resolve) => setTimeout(resolve, ms));
        } finally {
          child.kill('SIGCONT');
        }
      },
      kill: async () => {
        try {
          child.kill('SIGKILL');
        } catch {
          // already gone
        }
        await exited;
      },
    };
  } catch (error) {
    await stopChild(child, 200);
    throw new HarnessError('SLAB_ERR_BACKEND_START', `backend ${config.name} failed to start: ${(error as Error).message}`, { cause: error });
  }
}
