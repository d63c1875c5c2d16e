/** Balancing strategies and faults during a run, on real clusters; and the compare command. */
import { describe, expect, test } from 'vitest';
import type { ClusterEvent } from '../../harness/history/history.js';
import type { RunResult } from '../../harness/runner/run.js';
import { runCli } from '../helpers/cli.js';
import { comeBack, runBuiltIn, type StopWhen } from '../helpers/scenario-run.js';
import { keepHistoryOnFailure } from '../helpers/keep-history.js';
import { budgetShare } from '../../harness/util/budget.js';

/**
 * How long a pause or a drain lasts: long enough that users, however slow the
 * machine, send requests while it lasts (1.2 s with the default budget, more
 * when SLAB_BUDGET_MS is raised for a slower machine).
 */
const WINDOW_MS = budgetShare(0.04);

/**
 * Each user's last backend before the first event that hit a backend; who
 * sent requests after it, and who had requests answered after it (a
 * request in flight across the event may go either way).
 */
function pinnedAtFault(result: RunResult) {
  const hit = result.events.find((e) => e.kind === 'backend-killed' || e.kind === 'backend-restarted')!;
  const last = new Map<number, string | undefined>();
  const sentAfter = new Set<number>();
  const answeredAfter = new Set<number>();
  for (const r of [...result.records].sort((a, b) => a.time - b.time)) {
    if (r.time + r.durationMs <= hit.time) last.set(r.user, r.backend);
    else answeredAfter.add(r.user);
    if (r.time > hit.time) sentAfter.add(r.user);
  }
  const pinned = [...last].filter(([, backend]) => backend === hit.backend).map(([user]) => user);
  return { hit, pinned, sentAfter, answeredAfter };
}

/**
 * Stops a run once each of `users` had a request sent after the `kind`
 * event was over (its `lostBy`) answered by a backend and its store.
 */
function everyUserAnsweredAfter(kind: ClusterEvent['kind'], users: number): StopWhen {
  const back = new Set<number>();
  return (r, events) => {
    const over = events.find((e) => e.kind === kind)?.lostBy;
    if (over !== undefined && r.time > over && r.status > 0 && r.status < 500) back.add(r.user);
    return back.size === users;
  };
}

// First: its eight clusters start one after another, the longest chain in this file.
describe.concurrent('session-lab compare', () => {
  test('memory/redis × round-robin/sticky × none/kill-backend: 8 rows, as the architectures predict', async () => {
    // 6 users, not the default 10: sticky deals users to backends in blocks of 3 (seeded-turn.ts),
    // so 2 of them are pinned to app-1 when kill-backend hits it.
    const matrix = ['--stores', 'memory,redis', '--balancers', 'round-robin,sticky', '--faults', 'none,kill-backend'];
    const result = await runCli(['compare', '--scenario', 'login-browse', ...matrix, '--format', 'json', '--users', '6']);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout);
    expect(rows).toHaveLength(8);
    for (const row of rows) {
      for (const field of ['store', 'balancer', 'fault', 'requests', 'resets', 'resetsByCause', 'anomalies', 'errors', 'p50Ms', 'p95Ms', 'p99Ms', 'rps']) expect(row).toHaveProperty(field);
    }
    const row = (store: string, balancer: string, fault: string) =>
      rows.find((r: { store: string; balancer: string; fault: string }) => r.store === store && r.balancer === balancer && r.fault === fault);
    expect(row('memory', 'round-robin', 'none').resetsByCause.replication).toBeGreaterThan(0);
    expect(row('memory', 'sticky', 'none').resets).toBe(0);
    expect(row('redis', 'round-robin', 'none').resets).toBe(0);
    const killed = row('memory', 'sticky', 'kill-backend');
    expect(killed.resets).toBeGreaterThan(0);
    for (const user of killed.usersReset) expect(killed.usersOnFaultTarget).toContain(user);
  });

  test('markdown and csv formats; bad lists exit 2', async () => {
    // The flag reaching the printer needs a row, not a comparison: the smallest one (what each
    // format prints is checked on built rows in test/unit/compare-formats.test.ts).
    const row = ['compare', '--scenario', 'login-browse', '--stores', 'memory', '--balancers', 'sticky', '--servers', '1', '--users', '2'];
    const [md, csv, balancers, faults] = await Promise.all([
      runCli([...row, '--format', 'markdown']),
      runCli([...row, '--format', 'csv']),
      runCli(['compare', '--scenario', 'login-browse', '--balancers', 'sticky,weighted']),
      runCli(['compare', '--scenario', 'login-browse', '--faults', 'meteor']),
    ]);
    expect(md.code).toBe(0);
    expect(md.stdout.split('\n')[0]).toMatch(/^\| store \| balancer \| fault \| requests \| resets/);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\n')[1]).toMatch(/^memory,sticky,none,12,0,/);
    expect(balancers.code).toBe(2);
    expect(faults.code).toBe(2);
  });
});

describe.concurrent('sticky sessions in memory', () => {
  test('no fault: no reset, each user stays on one backend', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'memory', balancer: 'sticky' }, users: 10 });
    expect(result.resets).toEqual([]);
    for (let user = 1; user <= 10; user++) {
      expect(new Set(result.records.filter((r) => r.user === user).map((r) => r.backend)).size).toBe(1);
    }
  });

  test('kill-backend: resets for exactly the users pinned to it who came back, cause replication naming the kill', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'memory', balancer: 'sticky' }, users: 12, faults: ['kill-backend=app-1,after=24'] });
    const { hit, pinned, sentAfter, answeredAfter } = pinnedAtFault(result);
    expect(hit.backend).toBe('app-1');
    const reset = new Set(result.resets.map((v) => v.user));
    const cameBack = pinned.filter((user) => sentAfter.has(user));
    expect(cameBack.length).toBeGreaterThan(0);
    // Every user pinned to app-1 who came back was reset, and nobody else.
    for (const user of cameBack) expect(reset.has(user)).toBe(true);
    for (const user of reset) expect(pinned.includes(user) && answeredAfter.has(user)).toBe(true);
    for (const v of result.resets) {
      expect(v.cause).toBe('replication');
      expect(v.evidence).toContain('app-1 was killed at');
      expect(v.evidence).toContain('the balancer re-pinned the user from app-1');
    }
  });

  test('restart-backend: the users on it lose their sessions; the backend serves again', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'memory', balancer: 'sticky' }, users: 12, faults: ['restart-backend=app-2,after=24'] });
    expect(result.events.map((e) => e.kind)).toContain('backend-restarted');
    expect(result.resets.length).toBeGreaterThan(0);
    expect(result.resets.every((v) => v.cause === 'replication' && v.evidence.includes('app-2 was restarted at'))).toBe(true);
  });
});

describe.concurrent('shared sessions in Redis', () => {
  test('a backend kill loses no session', async () => {
    const result = await runBuiltIn('checkout', { cluster: { store: 'redis', balancer: 'round-robin' }, users: 10, faults: ['kill-backend=app-1,after=10'] });
    expect(result.events.some((e) => e.kind === 'backend-killed')).toBe(true);
    expect(result.resets).toEqual([]);
    const kill = result.events.find((e) => e.kind === 'backend-killed')!;
    // The balancer takes app-1 out before it records the kill: every request it
    // received from then on was answered by a live backend (however slow the machine).
    const after = result.records.filter((r) => r.proxy && r.proxy.time > kill.time);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((r) => r.backend !== 'app-1' && r.status > 0 && r.status < 500)).toBe(true);
  });

  test('restart-redis empties every session, and the diagnosis says so', async () => {
    // On a busy machine the old Redis may serve every request the scenario has left: the users come
    // back (comeBack) until each has been answered after the restart was over, by the new, empty Redis.
    const result = await runBuiltIn('login-browse', {
      cluster: { store: 'redis', balancer: 'round-robin' },
      users: 8,
      faults: ['restart-redis,after=16'],
      then: comeBack({ name: 'view drafts', method: 'GET', path: '/drafts' }),
      until: everyUserAnsweredAfter('redis-restarted', 8),
    });
    await keepHistoryOnFailure('restart-redis', result, () => {
      const restart = result.events.find((e) => e.kind === 'redis-restarted')!;
      expect(restart).toBeDefined();
      // Users whose session a backend could not find after the restart were all reset; nobody
      // else was (a request in flight across the restart may go either way: the old Redis may
      // still answer it, or the store may be down for it — an error, not a reset).
      const cameBack = new Set(result.records.filter((r) => r.time > restart.time && r.sessionIdInJar && r.sessionStatus === 'unknown-id').map((r) => r.user));
      const answeredAfter = new Set(result.records.filter((r) => r.time + r.durationMs > restart.time).map((r) => r.user));
      const reset = new Set(result.resets.map((v) => v.user));
      expect(cameBack.size).toBeGreaterThan(0);
      for (const user of cameBack) expect(reset.has(user)).toBe(true);
      for (const user of reset) expect(answeredAfter.has(user)).toBe(true);
      for (const v of result.resets) {
        expect(v.cause).toBe('replication');
        expect(v.evidence).toContain('the shared store was restarted empty');
      }
    });
  });
});

describe.concurrent('client-hash', () => {
  test('all users of one address go to one backend', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'memory', balancer: 'client-hash' }, users: 8, clientAddresses: 1 });
    expect(new Set(result.records.map((r) => r.backend)).size).toBe(1);
    expect(new Set(result.records.map((r) => r.proxy?.clientAddress)).size).toBe(1);
    expect(result.resets).toEqual([]);
  });

  test('users from different addresses spread over the backends, each staying on its own', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'memory', balancer: 'client-hash' }, users: 24 });
    expect(new Set(result.records.map((r) => r.backend)).size).toBeGreaterThan(1);
    expect(result.resets).toEqual([]);
  });
});

test.concurrent('the concurrent-cart workload: lost updates with whole records, with a shortest example; none with locking', async () => {
  // Two independent clusters: side by side.
  const [whole, locking] = await Promise.all([
    runBuiltIn('concurrent-cart', { cluster: { store: 'redis' }, users: 3 }),
    runBuiltIn('concurrent-cart', { cluster: { store: 'redis-locking' }, users: 3 }),
  ]);
  const lost = whole.anomalies.filter((a) => a.kind === 'lost-update');
  expect(lost.length).toBeGreaterThan(0);
  expect(lost[0].sequence.length).toBeLessThanOrEqual(3);
  expect(lost[0].sequence.at(-1)?.outcome).toMatch(/^read → \[/);
  expect(locking.anomalies).toEqual([]);
  // Every acknowledged add is in the user's cart.
  for (let user = 1; user <= 3; user++) {
    const read = locking.records.find((r) => r.user === user && r.path === '/cart')!;
    expect(JSON.parse(read.responseBody!).cart).toHaveLength(6);
  }
});

describe.concurrent('the other faults during a run', () => {
  test('kill-redis: requests that need a session fail (503), and that is an error, not a reset', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'redis' }, users: 6, faults: ['kill-redis,after=12'] });
    const kill = result.events.find((e) => e.kind === 'redis-killed')!;
    expect(kill).toBeDefined();
    // Recorded just before the SIGKILL: every request sent after it found Redis gone.
    const after = result.records.filter((r) => r.time > kill.time);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((r) => r.status === 503 && r.sessionStatus === 'store-error')).toBe(true);
    expect(result.errors).toBeGreaterThanOrEqual(after.length);
    expect(result.resets).toEqual([]);
  });

  test('pause-redis: requests wait while Redis is frozen, then complete; no session is lost', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'redis' }, users: 6, faults: [`pause-redis,after=12,for=${WINDOW_MS}ms`] });
    expect(result.events.map((e) => e.kind)).toContain('redis-paused');
    expect(result.resets).toEqual([]);
    expect(result.errors).toBe(0);
    // Some request sent before Redis thawed (WINDOW_MS after the recorded freeze at the
    // earliest) was answered only after it: it waited, and completed.
    const pause = result.events.find((e) => e.kind === 'redis-paused')!;
    const thawed = pause.time + WINDOW_MS;
    expect(result.records.some((r) => r.time < thawed && r.time + r.durationMs >= thawed)).toBe(true);
  });

  test('pause-backend: requests to the frozen backend wait, then complete; no session is lost', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'redis' }, users: 6, faults: [`pause-backend=app-2,after=12,for=${WINDOW_MS}ms`] });
    const pause = result.events.find((e) => e.kind === 'backend-paused')!;
    expect(pause.backend).toBe('app-2');
    expect(result.resets).toEqual([]);
    expect(result.errors).toBe(0);
    // A request app-2 had when it froze was answered only after it thawed.
    const thawed = pause.time + WINDOW_MS;
    expect(result.records.some((r) => r.backend === 'app-2' && r.time < thawed && r.time + r.durationMs >= thawed)).toBe(true);
  });

  test('slow-redis: recorded, and every session survives', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'redis' }, users: 6, faults: ['slow-redis,after=6,for=300ms'] });
    expect(result.events.map((e) => e.kind)).toContain('redis-slowed');
    expect(result.resets).toEqual([]);
    expect(result.errors).toBe(0);
  });

  test('drain-backend: no new request reaches it while drained; it comes back', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'redis' }, users: 6, repeat: 3, faults: [`drain-backend=app-2,after=10,for=${WINDOW_MS}ms`] });
    const drained = result.events.find((e) => e.kind === 'backend-drained')!;
    const back = result.events.find((e) => e.kind === 'backend-undrained')!;
    expect(drained && back).toBeTruthy();
    const during = result.records.filter((r) => r.proxy && r.proxy.time > drained.time && r.proxy.time < back.time);
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((r) => r.backend !== 'app-2')).toBe(true);
    expect(result.resets).toEqual([]);
  });

  test('rolling-restart: every backend restarted; with memory sessions behind sticky, users lose them', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { store: 'memory', balancer: 'sticky' }, users: 9, faults: ['rolling-restart,after=20'] });
    expect(
      result.events
        .filter((e) => e.kind === 'backend-restarted')
        .map((e) => e.backend)
        .sort(),
    ).toEqual(['app-1', 'app-2', 'app-3']);
    expect(result.resets.length).toBeGreaterThan(0);
    expect(result.resets.every((v) => v.cause === 'replication')).toBe(true);
  });
});
