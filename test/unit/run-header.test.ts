/** The first line of a run's report says what ran: containers instead of processes, Chromium instead of virtual users. */
import { describe, expect, test } from 'vitest';
import { formatRun } from '../../harness/cli/report.js';
import type { RunResult } from '../../harness/runner/run.js';

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
