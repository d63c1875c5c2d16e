/**
 * The test suite's wall time, as `npm test` runs it (build included), with
 * the load average before and after: the figure only means "on an idle
 * machine" when the load says the machine was idle.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { childExited, trackChild } from '../util/children.js';
import { PACKAGE_ROOT } from '../util/paths.js';

export interface SuiteTiming {
  seconds: number;
  passed: boolean;
  summary: string;
  loadBefore: number;
  loadAfter: number;
}

export async function timeSuite(): Promise<SuiteTiming> {
  const loadBefore = loadavg()[0];
  const started = performance.now();
  const child = spawn('npm', ['test', '--silent'], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
  trackChild(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  await childExited(child);
  const seconds = (performance.now() - started) / 1000;
  const summary = [/Test Files\s+(.*)/.exec(out)?.[1], /Tests\s+(.*)/.exec(out)?.[1]].filter(Boolean).join('; ').trim();
  return { seconds, passed: child.exitCode === 0, summary, loadBefore, loadAfter: loadavg()[0] };
}
