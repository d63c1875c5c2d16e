/**
 * `npm run demo`: the classic bug on real processes. The same scenario on
 * two architectures, side by side: sessions in each server's memory behind
 * round-robin (users are logged out) and sessions shared in Redis (they
 * are not), with the evidence of one reset.
 */
import type { ClusterOptions, StartedCluster } from '../cluster.js';
import { runScenario, type RunResult } from '../runner/run.js';
import { loadScenario } from '../scenario/load.js';
import { table } from '../util/table.js';
import { CAUSE_EXPLAINED, hops, verdictHeadline } from './report.js';

type WithCluster = <T>(options: ClusterOptions, use: (cluster: StartedCluster) => Promise<T>) => Promise<T>;

const SERVERS = 3;
// Not a multiple of the server count: users in lockstep would each stay on one server.
const USERS = 4;

export async function runDemo(withCluster: WithCluster, signal: AbortSignal): Promise<number> {
  const scenario = loadScenario('login-browse');
  const print = (line = '') => process.stdout.write(`${line}\n`);
  print(`session-lab demo — scenario ${scenario.name}: ${scenario.description}`);
  print(`${SERVERS} app servers (separate Node processes) behind a round-robin balancer, ${USERS} virtual users, each with its own cookie jar.`);
  print();

  const results: { label: string; result: RunResult; cookieName: string }[] = [];
  for (const store of ['memory', 'redis'] as const) {
    const label = `${store === 'memory' ? 'memory (each server its own)' : 'redis (shared)'} + round-robin`;
    print(`running on ${label}…`);
    const entry = await withCluster({ servers: SERVERS, store, balancer: 'round-robin' }, async (cluster) => ({
      label,
      result: await runScenario(cluster, scenario, { users: USERS, signal }),
      cookieName: cluster.options.session.cookieName,
    }));
    results.push(entry);
  }

  print();
  print(
    table(
      ['sessions + balancer', 'requests', 'resets', 'replication', 'other causes', 'failed expectations', 'outcome'],
      results.map(({ label, result }) => [
        label,
        result.requests,
        result.resets.length,
        result.resetsByCause.replication,
        result.resets.length - result.resetsByCause.replication,
        result.failures.length,
        result.resets.length ? 'users logged out' : 'sessions kept',
      ]),
      [false, true, true, true, true, true, false],
    ),
  );

  const memory = results[0];
  const redis = results[1];
  const example =
    memory.result.resets.find((v) => v.request.startsWith('GET /drafts') && v.cause === 'replication') ?? memory.result.resets[0];
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
  const asExpected = memory.result.resetsByCause.replication > 0 && redis.result.resets.length === 0 && redis.result.passed;
  print(
    asExpected
      ? 'Result: with sessions in each server\'s memory, users lose their login as round-robin moves them between servers; with Redis, nobody does.'
      : 'Result: the demo did not come out as designed (see the table above).',
  );
  print('Try it yourself: npx session-lab run login-browse --store memory   (then --store redis)');
  return asExpected ? 0 : 1;
}
