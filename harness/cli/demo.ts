/**
 * `npm run demo`: the classic bug on real processes. The same scenario on
 * three architectures, side by side: sessions in each server's memory
 * behind round-robin (users are logged out), the same memory sessions
 * behind sticky routing (the cure that needs nothing more), and sessions
 * shared in Redis — that row only when a Redis can be had; without one the
 * demo says how to get one and still exits 0, since the bug and the
 * Redis-free cure are what it is there to show.
 */
import type { ClusterOptions, StartedCluster } from '../cluster.js';
import { isHarnessError } from '../errors.js';
import { runScenario, type RunResult } from '../runner/run.js';
import { table } from '../util/table.js';
import { CAUSE_EXPLAINED, hops, verdictHeadline } from './report.js';

type WithCluster = <T>(options: ClusterOptions, use: (cluster: StartedCluster) => Promise<T>) => Promise<T>;

const SERVERS = 3;
// Not a multiple of the server count: users in lockstep would each stay on one server.
const USERS = 4;

interface Row {
  label: string;
  options: ClusterOptions;
  /** What the row is there to show. */
  expect: 'resets' | 'kept';
}

const ROWS: Row[] = [
  { label: 'memory (each server its own) + round-robin', options: { store: 'memory', balancer: 'round-robin' }, expect: 'resets' },
  { label: 'memory (each server its own) + sticky', options: { store: 'memory', balancer: 'sticky' }, expect: 'kept' },
  { label: 'redis (shared) + round-robin', options: { store: 'redis', balancer: 'round-robin' }, expect: 'kept' },
];

export async function runDemo(withCluster: WithCluster, signal: AbortSignal): Promise<number> {
  // import()ed: the run chunk loads no YAML parser for the runs that read none.
  const { loadScenario } = await import('../scenario/load.js');
  const scenario = loadScenario('login-browse');
  const print = (line = '') => process.stdout.write(`${line}\n`);
  print(`session-lab demo — scenario ${scenario.name}: ${scenario.description}`);
  print(`${SERVERS} app servers (separate Node processes) behind a balancer, ${USERS} virtual users, each with its own cookie jar.`);
  print();

  const results: { row: Row; result: RunResult; cookieName: string }[] = [];
  let noRedis: string | undefined;
  for (const row of ROWS) {
    print(`running on ${row.label}…`);
    try {
      results.push(
        await withCluster({ servers: SERVERS, ...row.options }, async (cluster) => ({
          row,
          result: await runScenario(cluster, scenario, { users: USERS, signal }),
          cookieName: cluster.options.session.cookieName,
        })),
      );
    } catch (error) {
      // Only a missing Redis is skipped: the rows above it need nothing and have run.
      if (!(isHarnessError(error) && error.code === 'SLAB_ERR_REDIS_UNAVAILABLE')) throw error;
      noRedis = error.message;
    }
  }

  print();
  print(
    table(
      ['sessions + balancer', 'requests', 'resets', 'replication', 'other causes', 'failed expectations', 'outcome'],
      results.map(({ row, result }) => [
        row.label,
        result.requests,
        result.resetsTotal,
        result.resetsByCause.replication,
        result.resetsTotal - result.resetsByCause.replication,
        result.failuresTotal,
        result.resetsTotal ? 'users logged out' : 'sessions kept',
      ]),
      [false, true, true, true, true, true, false],
    ),
  );
  if (noRedis) {
    print();
    print('The Redis row did not run: no Redis could be had.');
    print(`  ${noRedis}`);
  }

  const memory = results[0];
  const example = memory.result.resets.find((v) => v.request.startsWith('GET /drafts') && v.cause === 'replication') ?? memory.result.resets[0];
  if (example) {
    const record = memory.result.records.find((r) => r.user === example.user && r.run === example.run && r.step === example.step);
    print();
    print('One reset, explained:');
    print(`  ${verdictHeadline(example)}`);
    print(`    ${example.evidence}`);
    if (record) for (const line of hops(record, memory.cookieName)) print(`      ${line}`);
    print(`  replication: ${CAUSE_EXPLAINED.replication}`);
  }
  print();
  const asExpected = results.every(({ row, result }) => (row.expect === 'resets' ? result.resetsByCause.replication > 0 : result.resetsTotal === 0 && result.passed));
  print(
    asExpected
      ? "Result: with sessions in each server's memory, users lose their login as round-robin moves them between servers; " +
          `sticky routing keeps each user on one server, so nobody does${noRedis ? '' : ', and neither with Redis'}.`
      : 'Result: the demo did not come out as designed (see the table above).',
  );
  print('Try it yourself: npx session-lab run login-browse --store memory   (then --balancer sticky, or --store redis)');
  return asExpected ? 0 : 1;
}
