/**
 * Running a balancer binary (nginx, HAProxy) as a child that cannot outlive
 * the harness, and checking a config with the binary's own validator.
 *
 * Neither nginx nor HAProxy watches its parent. A tiny sh keeper does: it
 * starts the balancer, holds our stdin pipe in a reader that SIGKILLs the
 * balancer when the pipe closes — when the harness stops it or dies, even
 * by SIGKILL — and exits when the balancer does, so a balancer that fails
 * to start is seen at once.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { HarnessError } from '../errors.js';
import { budgetHint } from '../util/budget.js';
import { childExited, trackChild } from '../util/children.js';
import { findOnPath } from '../util/paths.js';

const INSTALL_HINT: Record<string, string> = {
  nginx: 'Debian/Ubuntu: apt-get install nginx; macOS: brew install nginx',
  haproxy: 'Debian/Ubuntu: apt-get install haproxy; macOS: brew install haproxy',
};

/** The binary's path on PATH, or SLAB_ERR_BINARY_MISSING (exit 3) saying how to install it. */
export function requireBinary(name: 'nginx' | 'haproxy', env: NodeJS.ProcessEnv = process.env): string {
  const found = findOnPath(name, env);
  if (!found) {
    throw new HarnessError(
      'SLAB_ERR_BINARY_MISSING',
      `--balancer ${name}: "${name}" was not found on PATH; install it (${INSTALL_HINT[name]}; Debian puts it in /usr/sbin, which must be on PATH) or choose a balancer of session-lab's own (round-robin, sticky, …)`,
    );
  }
  return found;
}

/** Runs the balancer's config check; resolves with its output, rejects with exit status and output. */
export async function checkConfig(binary: string, args: readonly string[]): Promise<{ ok: boolean; output: string }> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve(status));
  });
  return { ok: code === 0, output: output.trim() };
}

export interface BalancerProcess {
  /** The balancer's own pid (the keeper's child). */
  readonly pid: number;
  /** Everything the balancer wrote to stderr (its error log), last 16 KiB. */
  log(): string;
  /** Resolves when the balancer (and its keeper) has exited. */
  readonly exited: Promise<void>;
  stop(): Promise<void>;
}

const KEEPER = [
  'exec 3<&0 0</dev/null',
  '"$@" & r=$!',
  'echo "$r"',
  // The reader: our stdin closes when the harness stops or dies.
  '( read _ignored <&3; kill -9 "$r" ) 2>/dev/null & w=$!',
  'wait "$r"; c=$?',
  'kill "$w" 2>/dev/null',
  'exit "$c"',
].join('\n');

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface SpawnBalancerOptions {
  what: string;
  binary: string;
  args: readonly string[];
  /** Ports the balancer must be listening on before it counts as started. */
  ports: readonly number[];
  /**
   * A file the balancer writes once every listener is bound (nginx's pid
   * file): its main port can accept before a second listener fails to bind.
   */
  readyFile?: string;
  timeoutMs: number;
}

/** Starts the balancer under its keeper; resolves once every port accepts connections. */
export async function spawnBalancer({ what, binary, args, ports, readyFile, timeoutMs }: SpawnBalancerOptions): Promise<BalancerProcess> {
  // `nginx -t` writes the pid file too: only one written by this start counts.
  if (readyFile !== undefined) rmSync(readyFile, { force: true });
  const keeper = spawn('sh', ['-c', KEEPER, 'slab-keeper', binary, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches only the harness, which stops
    // the balancer in order; on a hard exit the harness kills the group.
    detached: true,
  });
  trackChild(keeper, { group: true });
  let log = '';
  let stdout = '';
  keeper.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-16_384);
  });
  keeper.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = childExited(keeper);
  let gone = false;
  void exited.then(() => (gone = true));

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (gone) return;
      const pid = Number(stdout.trim().split('\n')[0]);
      try {
        // The balancer's own clean shutdown; the keeper follows it.
        if (pid > 0) process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-keeper.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 2000);
      await exited;
      clearTimeout(timer);
    })());

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) break;
    const open = await Promise.all(ports.map(portOpen));
    if (open.every(Boolean) && stdout.trim() && (readyFile === undefined || existsSync(readyFile)) && !gone) {
      return { pid: Number(stdout.trim().split('\n')[0]), log: () => log, exited, stop };
    }
    if (Date.now() >= deadline) break;
    // Poll, not sleep: a short wait between attempts, bounded by the deadline.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20))]);
  }
  const why = gone ? `exited with status ${keeper.exitCode}` : `did not listen on ${ports.map((p) => `127.0.0.1:${p}`).join(', ')} within ${timeoutMs} ms ${budgetHint()}`;
  await stop();
  await exited;
  throw new HarnessError('SLAB_ERR_BALANCER_START', `${what} ${why}${log.trim() ? `; its error log says:\n${indent(log.trim())}` : ' and wrote nothing to its error log'}`);
}

export function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
