/**
 * `--server express`: Express 4 + express-session (MemoryStore, or
 * connect-redis on ioredis) reporting its sessions through
 * session-lab/express, run through the app-from-a-command path. The
 * built-in scenarios behave on it as on the reference server.
 * Each test runs its own clusters and reads only its own results: they run
 * side by side (describe.concurrent, at most maxConcurrency at once).
 * Each replica is a process loading Express (~0.25 s of CPU a start): two
 * replicas per cluster are the fewest that show a session crossing them.
 */
import { describe, expect, it } from 'vitest';
import { expressServerApp } from '../../harness/backend/express-server.js';
import type { CompareRow } from '../../harness/compare/compare.js';
import { runCli } from '../helpers/cli.js';
import { runBuiltIn } from '../helpers/scenario-run.js';
import { waitForNoMarked } from '../helpers/processes.js';

describe.concurrent('--server express', () => {
  it("login-browse: memory sessions behind round-robin reset, named replication from the middleware's white-box report", async () => {
    // Two replicas: session-lab's round-robin (seeded-turn.ts) moves each user one replica on at
    // every step, whatever order concurrent users arrive in, so each user's session crosses them.
    const result = await runBuiltIn('login-browse', { cluster: { app: expressServerApp(), servers: 2 }, users: 2 });
    expect(result.passed).toBe(false);
    const unexpected = result.resets.filter((v) => !v.expected);
    expect(unexpected.length).toBeGreaterThan(0);
    for (const verdict of unexpected) expect(verdict.cause).toBe('replication');
    // The middleware reported what the backend saw.
    expect(result.records.every((r) => r.sessionStatus !== undefined && r.backend !== undefined)).toBe(true);
  });

  it('login-browse --fixed: connect-redis keeps every session', async () => {
    const result = await runBuiltIn('login-browse', { cluster: { app: expressServerApp(), servers: 2 }, fixed: true, users: 3 });
    expect(result.store).toBe('redis');
    expect(result.resets).toEqual([]);
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(true);
  });

  it('compare --server express gives a row per store like the reference server', async () => {
    const { code, stdout, stderr, marker } = await runCli([
      'compare',
      '--scenario',
      'login-browse',
      '--server',
      'express',
      '--stores',
      'memory,redis',
      '--balancers',
      'round-robin',
      '--servers',
      '2',
      '--users',
      '3',
      '--format',
      'json',
    ]);
    expect(code, stderr).toBe(0);
    const rows = JSON.parse(stdout) as CompareRow[];
    expect(rows.map((r) => r.store)).toEqual(['memory', 'redis']);
    expect(rows[0].resets).toBeGreaterThan(0);
    expect(rows[0].resetsByCause.replication).toBe(rows[0].resets);
    expect(rows[1].resets).toBe(0);
    expect(rows[1].errors).toBe(0);
    expect(await waitForNoMarked(marker)).toEqual([]);
  });
});
