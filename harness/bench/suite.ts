/**
 * The test suite's wall time, as `npm test` runs it (build included), with
 * the load average before and after: the figure only means "on an idle
 * machine" when the load says the machine was idle. Also the CPU it used
 * (user + sys of every process it started and waited for), which a busy
 * machine barely changes: on 2 cores, wall time on an idle machine cannot be
 * below half of it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { childExited, trackChild } from '../util/children.js';
import { PACKAGE_ROOT } from '../util/paths.js';

export interface SuiteTiming {
  seconds: number;
  passed: boolean;
  summary: string;
  loadBefore: number;
  loadAfter: number;
  /** CPU seconds (user + sys) of the suite's processes; undefined where /proc is not (not Linux). */
  cpuSeconds?: number;
}

/** CPU seconds of this process's waited-for children and theirs: cutime + cstime of /proc/self/stat, in USER_HZ (100 on Linux). */
function childrenCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after "(comm) ": the first is field 3 (state); cutime is field 16, cstime 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return undefined;
  }
}

export async function timeSuite(): Promise<SuiteTiming> {
  const loadBefore = loadavg()[0];
  const cpuBefore = childrenCpuSeconds();
  const started = performance.now();
  const child = spawn('npm', ['test', '--silent'], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
  trackChild(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  await childExited(child);
  const seconds = (performance.now() - started) / 1000;
  const summary = [/Test Files\s+(.*)/.exec(out)?.[1], /Tests\s+(.*)/.exec(out)?.[1]].filter(Boolean).join('; ').trim();
  const cpuAfter = childrenCpuSeconds();
  const cpuSeconds = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  return { seconds, passed: child.exitCode === 0, summary, loadBefore, loadAfter: loadavg()[0], cpuSeconds };
}
