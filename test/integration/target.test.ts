/**
 * `--target URL`: a system session-lab did not start. Here it is a
 * balancer in front of three replicas of an ordinary Express app, started
 * by the test on loopback; the CLI only sends traffic to its URL. Only the
 * client's view exists, so a reset is found, and its cause is named only
 * where that view proves it: otherwise `unclassified`, naming what is missing.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCluster } from '../../harness/cluster.js';
import type { Verdict } from '../../harness/diagnosis/diagnose.js';
import { loadScenario } from '../../harness/scenario/load.js';
import { planRun } from '../../harness/scenario/plan.js';
import { runCli } from '../helpers/cli.js';

const SCENARIO = join(import.meta.dirname, '..', 'fixtures', 'express-app', 'login-account.yaml');

describe.concurrent('--target', () => {
  it('finds the resets of a running system from the client view, and says unclassified where that view cannot prove a cause', async () => {
    await using system = await startCluster({ servers: 3, store: 'memory', app: { ...planRun(loadScenario(SCENARIO)).cluster.app!, env: { SESSION_SECRET: 'one' } } });
    // One user: round-robin then sends each of its requests to the next replica, so its
    // session is certainly lost. (Three users on three replicas can move in lockstep on a
    // busy machine, each then meeting the same replica every time: no reset to find.)
    const { code, stdout, stderr } = await runCli(['run', SCENARIO, '--target', system.url, '--backend-header', 'X-Served-By', '--users', '1', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(1);
    const result = JSON.parse(stdout) as { resets: Verdict[]; requests: number; servers: number };
    expect(result.servers).toBe(0);
    // Every request went to the system's balancer, which saw them all.
    expect(system.history.proxy.length).toBeGreaterThanOrEqual(result.requests);
    const unexpected = result.resets.filter((v) => !v.expected);
    expect(unexpected.length).toBeGreaterThan(0);
    for (const verdict of unexpected) {
      // The client cannot see what reached the backend, so replication cannot be proven from here.
      expect(verdict.cause).toBe('unclassified');
      expect(verdict.evidence).toContain('what that backend received');
      // The system's own header names the backend that answered.
      expect(verdict.backend).toMatch(/:\d+$/);
    }
  });

  it('refuses what a running system cannot have (exit 2)', async () => {
    const [both, bad] = await Promise.all([runCli(['run', SCENARIO, '--target', 'http://127.0.0.1:9/', '--store', 'redis']), runCli(['run', SCENARIO, '--target', 'ftp://127.0.0.1/'])]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--store: not with --target');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--target: expected an http or https URL');
  });
});
