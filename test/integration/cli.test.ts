/** The session-lab command as a user runs it: output, exit codes, nothing left running. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { closedPort } from '../helpers/ports.js';
import { CLI, runCli, startCli } from '../helpers/cli.js';
import { testRedis } from '../helpers/redis.js';
import { descendantsOf, waitForDescendants, waitForGone, waitForNoMarked } from '../helpers/processes.js';

// Each test starts CLI processes of its own and reads only their output and their marker: side by side.
describe.concurrent('session-lab run', () => {
  test('memory + round-robin, 3 servers, on the http-proxy engine: exit 1, naming the replication cause, nothing left running', async () => {
    const result = await runCli(['run', 'login-browse', '--store', 'memory', '--servers', '3', '--proxy-engine', 'http-proxy']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('session reset — cause: replication');
    expect(result.stdout).toMatch(/created on app-\d at step 2 \(POST \/login\); request routed to app-\d, whose store never had it/);
    expect(result.stdout).toContain('FAILED');
    expect(await waitForNoMarked(result.marker)).toEqual([]);
  });

  testRedis('redis + round-robin: exit 0', async () => {
    // Two servers are enough for round-robin to move the user on at every step (seeded-turn.ts).
    const result = await runCli(['run', 'login-browse', '--store', 'redis', '--servers', '2']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('PASSED');
    expect(await waitForNoMarked(result.marker)).toEqual([]);
  });

  test('--json prints one object with passed, requests and resets', async () => {
    const result = await runCli(['run', 'login-browse', '--json', '--users', '2', '--servers', '2']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.passed).toBe(false);
    expect(report.requests).toBe(12);
    expect(report.resets.length).toBeGreaterThan(0);
    for (const reset of report.resets) {
      expect(reset).toEqual(expect.objectContaining({ user: expect.any(Number), step: expect.any(Number), request: expect.any(String), cause: 'replication', evidence: expect.any(String) }));
    }
  });

  test('the bin runs by itself, as npx and npm link run it: executable, with its shebang', async () => {
    const stdout = await new Promise<string>((resolve, reject) => execFile(CLI, ['--help'], (error, out) => (error ? reject(error) : resolve(out))));
    expect(stdout).toMatch(/^session-lab — /);
  });

  test('an unknown --proxy-engine exits 2 naming the engines, before anything starts', async () => {
    const result = await runCli(['run', 'login-browse', '--proxy-engine', 'nginx']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('session-lab: SLAB_ERR_OPTION_INVALID: --proxy-engine: expected one of undici, http-proxy, got "nginx"\n');
    expect(await waitForNoMarked(result.marker)).toEqual([]);
  });

  test('a malformed scenario file exits 2 naming the file and the bad field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slab-cli-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'name: broken\ndescription: d\nsteps:\n  - method: GET\n    path: /\n    expect: { status: "two hundred" }\n');
    const result = await runCli(['run', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('broken.yaml');
    expect(result.stderr).toContain('steps[0].expect.status');
    expect(result.stderr).toContain('SLAB_ERR_SCENARIO_INVALID');
    expect(result.stdout).toBe('');
    expect(await waitForNoMarked(result.marker)).toEqual([]);
  });

  test('an unknown --store exits 2 listing the stores', async () => {
    const result = await runCli(['run', 'login-browse', '--store', 'mongo']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--store: expected one of memory, redis, redis-locking, redis-replica-reads, redis-replica-reads-wait, redis-sentinel, redis-cluster, got "mongo"');
  });

  test('unknown flags and bad numbers exit 2', async () => {
    const [sticky, servers, launch, scenario] = await Promise.all([
      runCli(['run', 'login-browse', '--sticky']),
      runCli(['run', 'login-browse', '--servers', 'three']),
      runCli(['launch']),
      runCli(['run', 'no-such-scenario']),
    ]);
    expect(sticky.code).toBe(2);
    expect(servers.code).toBe(2);
    expect(servers.stderr).toContain('--servers');
    expect(launch.code).toBe(2);
    expect(scenario.code).toBe(2);
  });

  test('REDIS_URL pointing at a closed port exits 3 naming the store, nothing left running', async () => {
    const port = await closedPort();
    const result = await runCli(['run', 'login-browse', '--store', 'redis'], { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('SLAB_ERR_REDIS_UNAVAILABLE');
    expect(result.stderr).toContain('store redis');
    expect(result.stderr).toContain(`127.0.0.1:${port}`);
    expect(await waitForNoMarked(result.marker)).toEqual([]);
  });
});

describe.concurrent('stopping a long run', () => {
  // 2 backends (more than one child of a kind to stop) + the redis keeper + redis-server.
  const LONG_RUN = ['run', 'login-browse', '--store', 'redis', '--servers', '2', '--users', '20', '--repeat', '2000'];
  const TREE = 4;

  test('Ctrl-C (SIGINT) stops the cluster: exit 130 and every process it started is gone', async () => {
    const cli = startCli(LONG_RUN);
    const tree = await waitForDescendants(cli.child.pid!, TREE);
    cli.child.kill('SIGINT');
    const result = await cli.done;
    expect(result.code).toBe(130);
    expect(await waitForGone(tree)).toEqual([]);
    expect(await waitForNoMarked(cli.marker)).toEqual([]);
  });

  test('SIGKILL of the harness: its children die with it', async () => {
    const cli = startCli(LONG_RUN);
    const tree = await waitForDescendants(cli.child.pid!, TREE);
    expect(descendantsOf(cli.child.pid!).length).toBeGreaterThanOrEqual(TREE);
    cli.child.kill('SIGKILL');
    await cli.done;
    expect(await waitForGone(tree)).toEqual([]);
  });
});
