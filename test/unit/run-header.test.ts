/** The run's report: its first line says what ran (containers instead of processes, Chromium instead of virtual users); failed requests are listed with the cluster's events. */
import { describe, expect, test } from 'vitest';
import { formatRun } from '../../harness/cli/report.js';
import type { ClusterEvent } from '../../harness/history/history.js';
import type { RunResult } from '../../harness/runner/run.js';
import { record } from '../helpers/history.js';

function result(overrides: Partial<RunResult>): RunResult {
  return {
    scenario: 'login-browse',
    fixed: false,
    store: 'memory',
    balancer: 'round-robin',
    faults: [],
    servers: 3,
    runtime: 'process',
    client: 'virtual-user',
    cookieName: 'sid',
    users: 1,
    repeat: 1,
    requests: 6,
    errors: 0,
    resets: [],
    resetsTotal: 0,
    resetsByCause: { replication: 0, transmission: 0, code: 0, expiry: 0, unclassified: 0 },
    anomalies: [],
    anomaliesTotal: 0,
    people: [],
    failures: [],
    failuresTotal: 0,
    requestsPerBackend: { 'app-1': 2, 'app-2': 2, 'app-3': 2 },
    events: [],
    latencyMs: { p50: 1, p95: 2, p99: 3 },
    durationMs: 10,
    passed: true,
    records: [],
    ...overrides,
  };
}

const headline = (overrides: Partial<RunResult>) => formatRun(result(overrides), { cookieName: 'sid' }).split('\n')[0];

describe('the report header', () => {
  test('processes and virtual users: nothing added', () => {
    expect(headline({})).toBe('session-lab run login-browse: 3 servers, store memory, balancer round-robin, 1 user × 1 run');
  });
  test('--runtime docker and --client chromium are named', () => {
    expect(headline({ runtime: 'docker', client: 'chromium', faults: ['strip-cookie'] })).toBe(
      'session-lab run login-browse: 3 servers (containers), store memory, balancer round-robin, 1 user × 1 run, faults strip-cookie, client chromium',
    );
  });
});

describe('failed requests in the report', () => {
  const start = 1_000_000;
  const refused = {
    ...record({ step: 4, backend: 'app-1', session: 'none', status: 503 }),
    time: start + 2400,
    backend: undefined,
    error: undefined,
    responseBody: '{"error":"balancer: no backend is up"}',
  };
  refused.proxy = { ...refused.proxy!, backend: undefined, error: 'no backend up' };
  const events: ClusterEvent[] = [
    { time: start + 1300, kind: 'backend-restarted', backend: 'app-1', fault: 'restart-backend=app-1,at=1.3s', detail: 'app-1 restarted: out of rotation until it is ready' },
    { time: start + 2500, kind: 'backend-up', backend: 'app-1', fault: 'restart-backend=app-1,at=1.3s', detail: 'app-1 up again' },
  ];

  test("a balancer's 503 is listed with who answered and why, next to the events that took the backends out and put them back", () => {
    const text = formatRun(result({ errors: 1, records: [refused], events, startedAt: start }), { cookieName: 'sid' });
    expect(text).toContain('Failed requests (1)\n  user 1, step 4 GET /drafts sent +2.4 s: 503 from the balancer (no backend up)');
    expect(text).toContain('What happened to the cluster meanwhile\n  +1.3 s  app-1 restarted: out of rotation until it is ready (fault restart-backend=app-1,at=1.3s)\n  +2.5 s  app-1 up again');
  });

  test('a run without errors has no such section', () => {
    expect(formatRun(result({ events, startedAt: start }), { cookieName: 'sid' })).not.toContain('Failed requests');
  });
});
