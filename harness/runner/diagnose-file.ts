/**
 * `session-lab diagnose run.jsonl`: a `--history` file read back and
 * settled exactly as the run settled it — pass by pass, through the same
 * Tally (diagnosis, consistency check, expectations) — so the verdicts are
 * the run's own. Streams the file: a long run's history fits in flat memory.
 */
import { readHistoryHeader, readHistoryPasses } from '../history/history-file.js';
import { Tally } from './tally.js';
import type { RunResult } from './run.js';

/** Below this size every record is kept (for --report diagrams); above, examples only. */
const KEEP_ALL_BYTES = 64 * 1024 * 1024;

export async function diagnoseHistoryFile(file: string): Promise<RunResult> {
  const { topology, run, events, size } = await readHistoryHeader(file);
  const tally = new Tally(topology.backends, size <= KEEP_ALL_BYTES);
  const history = { topology, events, proxy: [], backendLog: [] };
  let users = 0;
  let repeat = 0;
  let first = Infinity;
  let last = -Infinity;
  for await (const records of readHistoryPasses(file)) {
    tally.settle(history, records);
    for (const r of records) {
      users = Math.max(users, r.user);
      repeat = Math.max(repeat, r.run);
      first = Math.min(first, r.time);
      last = Math.max(last, r.time + r.durationMs);
    }
  }
  tally.sorted();
  return {
    scenario: run?.scenario ?? '(unnamed: no run line in the history)',
    fixed: run?.fixed ?? false,
    store: topology.store,
    balancer: topology.balancer,
    faults: topology.faults,
    servers: topology.backends.length,
    runtime: topology.launcher.endsWith('container') ? 'docker' : 'process',
    client: run?.client ?? 'virtual-user',
    cookieName: topology.cookieName,
    users: run?.users ?? users,
    repeat,
    ...(run?.seed === undefined ? {} : { seed: run.seed }),
    ...tally.figures(),
    events: events.filter((e) => e.kind !== 'run-started'),
    durationMs: Number.isFinite(first) ? last - first : 0,
    passed: tally.failuresTotal === 0,
    records: tally.records,
    historyFile: file,
  };
}
