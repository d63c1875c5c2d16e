import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

/** The bin, as users run it: the bundle (one file to load, not ~150 modules). */
export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'harness', 'cli', 'bundle', 'main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface StartedCli {
  child: ChildProcess;
  marker: string;
  done: Promise<CliResult>;
}

/** Starts the CLI with a leak-check marker in its environment. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): StartedCli {
  const marker = randomUUID();
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env, SLAB_TEST_MARK: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, marker, done };
}

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult & { marker: string }> {
  const { marker, done } = startCli(args, env);
  return { ...(await done), marker };
}
