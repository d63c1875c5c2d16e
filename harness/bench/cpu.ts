/**
 * CPU time a process (and its children: nginx's workers) has spent, from
 * /proc/PID/stat utime + stime. On a busy machine the wall clock moves with
 * everyone else's load; the CPU a proxy spends per request does not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Fields after the command name, which is in parentheses and may hold spaces. */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** PIDs whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    // fields[1] is the ppid (stat field 4).
    if (fields && Number(fields[1]) === pid) children.push(Number(entry));
  }
  return children;
}

/** CPU seconds (user + system) spent so far by `pid` and, with `withChildren`, its live children. */
export function cpuSeconds(pid: number, { withChildren = false } = {}): number {
  const pids = withChildren ? [pid, ...childrenOf(pid)] : [pid];
  let ticks = 0;
  for (const p of pids) {
    const fields = statFields(p);
    // utime and stime are stat fields 14 and 15: indexes 11 and 12 here.
    if (fields) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / clockTicks();
}

/** Whether CPU times can be read here (Linux /proc). */
export function canReadCpu(): boolean {
  return statFields(process.pid) !== undefined;
}
