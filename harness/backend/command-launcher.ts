/**
 * The user's own app as a backend: each replica is the user's command (as
 * Playwright's `webServer`), run under a keeper on a port of its own.
 *
 *   harness ──spawn──▶ keeper (sh, own process group) ──▶ sh -c "node app.js" ──▶ the app
 *
 * Each replica gets PORT (a free loopback port), HOST=127.0.0.1,
 * BACKEND_ID=app-N and REDIS_URL when the run has a Redis. It is ready
 * when its ready path answers (2xx, 3xx, 400-403, as Playwright counts
 * it) within the start-up timeout. A foreign app does not watch its
 * parent, so the keeper does: it holds a pipe from the harness and kills
 * its whole process group when that pipe closes, even when the harness is
 * killed with SIGKILL. stdout and stderr become per-backend log lines
 * (pino's JSON lines parsed, anything else kept as text), and the last
 * lines are quoted when the app crashes or never gets ready.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { HarnessError } from '../errors.js';
import { childExited, trackChild } from '../util/children.js';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { freePort } from '../util/net.js';
import { budgetHint, timeoutBudgetMs } from '../util/budget.js';
import type { BackendLogLine } from './backend-process.js';
import type { BackendLauncher } from './launcher.js';
import { REPLICA_PLACEHOLDERS, replicaEnv, unknownPlaceholder } from './replica-env.js';

/** How to run the user's app: the `--app` flags, a scenario's `cluster.app`, `startCluster({ app })`. */
export interface AppCommand {
  /** A shell command that starts one replica, e.g. `node app.js` or `npm start`. */
  command: string;
  /** Where it runs (default: the current directory). */
  cwd?: string;
  /** Extra environment for every replica, e.g. `{ SESSION_SECRET: 'x' }`. */
  env?: Record<string, string>;
  /** The path that answers once the replica is ready (default `/`). */
  ready?: string;
  /** How long a replica may take to get ready, in ms (default: the time budget, SLAB_BUDGET_MS). */
  startTimeoutMs?: number;
  /** The app's session cookie (`connect.sid`, `JSESSIONID`…); detected from the first Set-Cookie when not given. */
  cookieName?: string;
}

export const APP_DEFAULTS = { ready: '/' } as const;

/** What one replica is started with (the seam every launcher shares). */
export interface AppReplicaSpec {
  /** `app-N` */
  name: string;
  /** What a foreign app gets: BACKEND_ID, HOST, REDIS_URL when the run has a Redis. PORT is added here. */
  env: Record<string, string>;
  onLog?: (line: BackendLogLine) => void;
}

export interface StartedAppReplica {
  readonly name: string;
  readonly url: string;
  /** The keeper's pid: it leads the replica's process group. */
  readonly pid: number;
  readonly exited: Promise<void>;
  /** The last lines the replica printed, oldest first. */
  lastOutput(): string[];
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** Lines of output kept per replica for error messages. */
const TAIL_LINES = 20;
/** Statuses that mean "up", as Playwright's webServer counts them. */
const READY_STATUS = (status: number) => (status >= 200 && status < 400) || (status >= 400 && status <= 403);

// The keeper: fd 3 keeps the harness's pipe (a background list gets /dev/null
// as stdin); the watcher kills the whole group when the pipe closes; the
// keeper exits with the app's status, taking the watcher with it.
const KEEPER = ['exec 3<&0', 'sh -c "$0" </dev/null 3<&- & a=$!', '( read _ignored <&3; kill -KILL 0 ) & w=$!', 'wait "$a"; s=$?', 'kill "$w" 2>/dev/null', 'exit "$s"'].join('\n');

/** Binds and releases `port` on loopback: free at this moment? */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port for an app that must be told its port before it binds. Taken
 * below the kernel's ephemeral range when there is room: programs that
 * listen on port 0 (everything else session-lab and its neighbours start)
 * are given ports inside that range, so none of them can take this one
 * between our check and the app's bind and answer our readiness probe.
 */
async function appPort(): Promise<number> {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: the usual range
  }
  const floor = 10_000;
  if (low - floor >= 1000) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = floor + Math.floor(Math.random() * (low - floor));
      if (await portFree(port)) return port;
    }
  }
  return freePort();
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** One GET of the ready path; the status, or undefined when nothing answers yet. */
function probe(url: string, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

function quote(lines: string[]): string {
  return lines.length ? `; its last output:\n    | ${lines.join('\n    | ')}` : '; it printed nothing';
}

export async function startAppReplica(app: AppCommand, spec: AppReplicaSpec): Promise<StartedAppReplica> {
  const ready = app.ready ?? APP_DEFAULTS.ready;
  const timeoutMs = app.startTimeoutMs ?? timeoutBudgetMs();
  const port = await appPort();
  const url = `http://127.0.0.1:${port}`;
  const keeper = spawn('sh', ['-c', KEEPER, app.command], {
    cwd: app.cwd,
    env: { ...process.env, ...replicaEnv(app.env, spec.name), ...spec.env, PORT: String(port) },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  trackChild(keeper, { group: true });
  const pgid = keeper.pid!;
  const keeperExited = childExited(keeper);
  let exitStatus = '';
  keeper.once('exit', (code, signal) => (exitStatus = signal ? `signal ${signal}` : `code ${code}`));

  const tail: string[] = [];
  for (const [stream, input] of [
    ['stdout', keeper.stdout!],
    ['stderr', keeper.stderr!],
  ] as const) {
    createInterface({ input }).on('line', (line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (!spec.onLog) return;
      let fields: Record<string, unknown> | undefined;
      if (line.startsWith('{')) {
        try {
          fields = JSON.parse(line) as Record<string, unknown>;
        } catch {
          fields = undefined;
        }
      }
      spec.onLog({ ...fields, backend: spec.name, time: typeof fields?.time === 'number' ? fields.time : Date.now(), stream, ...(fields ? {} : { msg: line }) });
    });
  }

  // The replica is gone when its whole process group is: the app may have children of its own.
  const exited = keeperExited.then(async () => {
    for (let i = 0; i < 100 && groupAlive(pgid); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      signalGroup(pgid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), 2000);
      await keeperExited;
      // The app may outlive its shell for a moment: the rest of the group goes too.
      signalGroup(pgid, 'SIGKILL');
      clearTimeout(timer);
      await exited;
    })());
  const kill = async () => {
    signalGroup(pgid, 'SIGKILL');
    await exited;
  };

  const where = `app command ${JSON.stringify(app.command)}${app.cwd ? ` (in ${app.cwd})` : ''}, replica ${spec.name}`;
  const deadline = Date.now() + timeoutMs;
  let lastStatus: number | undefined;
  for (;;) {
    const gone = await Promise.race([keeperExited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 0))]);
    if (gone) {
      await stop();
      // Let the last lines of output arrive before quoting them.
      await new Promise((resolve) => setImmediate(resolve));
      throw new HarnessError('SLAB_ERR_APP_START', `${where}: exited with ${exitStatus} before ${url}${ready} answered${quote(tail)}`);
    }
    lastStatus = await probe(`${url}${ready}`, Math.min(2000, Math.max(100, deadline - Date.now())));
    if (lastStatus !== undefined && READY_STATUS(lastStatus)) break;
    if (Date.now() >= deadline) {
      await stop();
      const answered = lastStatus === undefined ? 'nothing answered' : `it answered ${lastStatus}`;
      throw new HarnessError(
        'SLAB_ERR_APP_START',
        `${where}: not ready within ${timeoutMs} ms${app.startTimeoutMs === undefined ? ` ${budgetHint()}` : ''}: GET ${url}${ready} (PORT=${port}; the app must listen on 127.0.0.1:$PORT): ${answered}${quote(tail)}`,
      );
    }
    // Poll against the deadline, not a fixed sleep.
    await Promise.race([keeperExited, new Promise((resolve) => setTimeout(resolve, 50))]);
  }
  return { name: spec.name, url, pid: pgid, exited, lastOutput: () => [...tail], stop, kill };
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const CLI_FLAGS: Record<string, string> = { command: '--app', cwd: '--app-cwd', env: '--app-env', ready: '--app-ready', startTimeoutMs: '--app-start-timeout', cookieName: '--cookie-name' };

/** Checks an app command's options, naming the field (`app.cwd`, or `--app-cwd` for the CLI), the value and what was expected. */
export function validateApp(app: AppCommand, from: 'options' | 'cli' = 'options'): AppCommand {
  const fail = (key: string, value: unknown, expected: string): never => {
    const field = from === 'cli' ? (CLI_FLAGS[key.split('.')[0]] ?? key) : `app.${key}`;
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${field}: expected ${expected}, got ${JSON.stringify(value)}`);
  };
  if (typeof app.command !== 'string' || !app.command.trim()) fail('command', app.command, 'a shell command, e.g. "node app.js"');
  if (app.cwd !== undefined) {
    let isDir: boolean;
    try {
      isDir = statSync(app.cwd).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) fail('cwd', app.cwd, 'an existing directory');
  }
  for (const [key, value] of Object.entries(app.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) fail('env', key, 'KEY=VALUE with KEY an environment variable name');
    if (typeof value !== 'string') fail(`env.${key}`, value, 'a string');
    const unknown = unknownPlaceholder(value);
    if (unknown) fail(`env.${key}`, `${key}=${value}`, `only the placeholders ${REPLICA_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')} in a value (got ${unknown})`);
  }
  if (app.ready !== undefined && !(typeof app.ready === 'string' && app.ready.startsWith('/'))) fail('ready', app.ready, 'a path starting with "/", e.g. /health');
  if (app.startTimeoutMs !== undefined && !(Number.isInteger(app.startTimeoutMs) && app.startTimeoutMs >= 1)) fail('startTimeoutMs', app.startTimeoutMs, 'a positive number of ms');
  if (app.cookieName !== undefined && !TOKEN.test(app.cookieName)) fail('cookieName', app.cookieName, 'an RFC 6265 cookie name (a token), e.g. connect.sid');
  return { ...app };
}

/** The launcher for `startCluster({ app })` and `--app`: every replica is the user's command. */
export function commandLauncher(app: AppCommand): BackendLauncher {
  return { kind: 'command', start: ({ name, env, onLog }) => startAppReplica(app, { name, env, onLog }) };
}
