/**
 * The test suite's wall time, as `npm test` runs it (build included), with
 * the load average before and after: the figure only means "on an idle
 * machine" when the load says the machine was idle. Also the CPU it used
 * (user + sys of every process it started and waited for), which a busy
 * machine barely changes: on 2 cores, wall time on an idle machine cannot be
 * below half of it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
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

export interface CliStartCpu {
  /** CPU ms (user + sys) of one `session-lab run ../package`: refused as bad input (exit 2), nothing started. */
  badInputMs: number;
  /** CPU ms of one `node -e 0` on the same machine, the floor any CLI start pays. */
  bareNodeMs: number;
  runs: number;
}

/** CPU of `argv` run `runs` times, one after the other, in ms per run. */
async function cpuPerRun(argv: string[], runs: number): Promise<number | undefined> {
  const before = childrenCpuSeconds();
  for (let i = 0; i < runs; i++) {
    const child = spawn(process.execPath, argv, { cwd: PACKAGE_ROOT, stdio: 'ignore' });
    trackChild(child);
    await childExited(child);
  }
  const after = childrenCpuSeconds();
  return before === undefined || after === undefined ? undefined : ((after - before) * 1000) / runs;
}

/**
 * What the suite pays each time a test starts the CLI on bad input (the
 * suite does ~120 times): the bundle checks its arguments before it loads
 * what starts, runs or reports (harness/cli/main.ts). CPU, not wall time:
 * a busy machine stretches the one, barely the other.
 */
export async function cliStartCpu(runs = 20): Promise<CliStartCpu | undefined> {
  const badInputMs = await cpuPerRun([join(PACKAGE_ROOT, 'dist', 'harness', 'cli', 'bundle', 'main.js'), 'run', '../package'], runs);
  const bareNodeMs = await cpuPerRun(['-e', '0'], runs);
  return badInputMs === undefined || bareNodeMs === undefined ? undefined : { badInputMs, bareNodeMs, runs };
}

export interface CliRunCpu {
  /** CPU ms (user + sys) of the CLI process itself in one `session-lab run login-browse`, its children apart. */
  ownMs: number;
  /** The same run's CPU with every process it started and waited for (backends, their Redis). */
  withChildrenMs: number;
  runs: number;
}

/** Prints the CPU the process spent, at exit, to the file SLAB_BENCH_CPU_FILE names (node --import, before the CLI's own code). */
const CPU_AT_EXIT = `data:text/javascript,${encodeURIComponent(
  'import { writeFileSync } from "node:fs"; process.on("exit", () => { const u = process.cpuUsage(); writeFileSync(process.env.SLAB_BENCH_CPU_FILE, String((u.user + u.system) / 1000)); });',
)}`;

/**
 * What a good CLI run costs before and after its children's work: the
 * suite starts ~80 of them. `run login-browse` (3 reference servers, one
 * user, 6 requests) exits 1: its misconfiguration resets sessions, as it should.
 */
export async function cliRunCpu(runs = 5): Promise<CliRunCpu | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'slab-bench-cli-'));
  const file = join(dir, 'cpu');
  try {
    let own = 0;
    const before = childrenCpuSeconds();
    for (let i = 0; i < runs; i++) {
      const child = spawn(process.execPath, ['--import', CPU_AT_EXIT, join(PACKAGE_ROOT, 'dist', 'harness', 'cli', 'bundle', 'main.js'), 'run', 'login-browse'], {
        cwd: PACKAGE_ROOT,
        stdio: 'ignore',
        env: { ...process.env, SLAB_BENCH_CPU_FILE: file },
      });
      trackChild(child);
      await childExited(child);
      own += Number(readFileSync(file, 'utf8'));
    }
    const after = childrenCpuSeconds();
    if (before === undefined || after === undefined || !Number.isFinite(own)) return undefined;
    return { ownMs: own / runs, withChildrenMs: ((after - before) * 1000) / runs, runs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
