/**
 * `--runtime docker`: the reference server's replicas and Redis as
 * containers on the private engine give the same verdicts as processes, and
 * leave no container behind — after a normal end and after SIGKILL of the
 * harness.
 *
 * The library tests share this process's owner label, so they run one after
 * another (each checks that this process has no container left); within each,
 * the run on processes goes side by side with the one on containers. The CLI
 * test's harnesses are processes of their own: it runs beside them.
 */
import { describe, expect, test } from 'vitest';
import { startCluster } from '../../harness/cluster.js';
import { OWNER_ID } from '../../harness/docker/watchdog.js';
import { runScenario, type RunResult } from '../../harness/runner/run.js';
import { loadScenario } from '../../harness/scenario/load.js';
import { planRun } from '../../harness/scenario/plan.js';
import { timeoutBudgetMs } from '../../harness/util/budget.js';
import { startCli } from '../helpers/cli.js';
import { containersOfProcess as containersOf, describeDocker, noContainersLeftBy } from '../helpers/docker.js';

async function loginBrowse(
  store: 'memory' | 'redis',
  runtime: 'process' | 'docker',
  { balancer, users = 3, faults }: { balancer?: 'sticky'; users?: number; faults?: string[] } = {},
): Promise<{ result: RunResult; launcher: string; redisSource?: string }> {
  const scenario = loadScenario('login-browse');
  const plan = planRun(scenario, { cluster: { store, runtime, balancer }, faults });
  await using cluster = await startCluster(plan.cluster);
  const result = await runScenario(cluster, scenario, { client: plan.client, fixed: plan.fixed, users });
  return { result, launcher: cluster.history.topology.launcher, redisSource: cluster.redis?.source };
}

const causes = (result: RunResult) => [...new Set(result.resets.map((verdict) => verdict.cause))].sort();

describeDocker('--runtime docker', () => {
  // A concurrent suite of sequential tests: the suite runs beside the CLI test, its tests one after another.
  describe.concurrent('the library', () => {
    test.sequential('login-browse on memory sessions: replication resets, as on processes; no container left', async () => {
      const [docker, processes] = await Promise.all([loginBrowse('memory', 'docker'), loginBrowse('memory', 'process')]);
      expect(docker.launcher).toBe('reference-container');
      expect(docker.result.resets.length).toBeGreaterThan(0);
      expect(causes(docker.result)).toEqual(['replication']);
      expect(causes(processes.result)).toEqual(causes(docker.result));
      expect(docker.result.requests).toBe(processes.result.requests);
      expect(docker.result.errors).toBe(0);
      expect(Object.keys(docker.result.requestsPerBackend).sort()).toEqual(['app-1', 'app-2', 'app-3']);
      expect(await containersOf(process.pid)).toEqual([]);
      expect(OWNER_ID.startsWith(`${process.pid}-`)).toBe(true);
    });

    test.sequential('login-browse on Redis sessions (Redis a container too), app-2 paused: 0 resets, as on processes; no container left', async () => {
      // docker pause freezes app-2's container as SIGSTOP freezes its process: requests wait, nothing is lost.
      const faults = ['pause-backend=app-2,after=6,for=400ms'];
      const [docker, processes] = await Promise.all([loginBrowse('redis', 'docker', { faults }), loginBrowse('redis', 'process', { faults })]);
      expect(docker.redisSource).toBe('testcontainers');
      expect(docker.result.events.map((e) => e.kind)).toContain('backend-paused');
      expect(docker.result.resets).toEqual([]);
      expect(docker.result.errors).toBe(0);
      // Which expectation failed, if one did (a bare passed=false says nothing on a CI log).
      expect(docker.result.failures).toEqual([]);
      expect(docker.result.passed).toBe(true);
      expect(processes.result.resets).toEqual([]);
      expect(processes.result.failures).toEqual([]);
      expect(processes.result.passed).toBe(true);
      expect(await containersOf(process.pid)).toEqual([]);
    });

    test.sequential('restart-backend replaces a container: the users on it lose their sessions, as with processes', async () => {
      const { result } = await loginBrowse('memory', 'docker', { balancer: 'sticky', users: 12, faults: ['restart-backend=app-2,after=24'] });
      expect(result.events.map((e) => e.kind)).toContain('backend-restarted');
      expect(result.resets.length).toBeGreaterThan(0);
      expect(result.resets.every((v) => v.cause === 'replication' && v.evidence.includes('app-2 was restarted at'))).toBe(true);
      expect(await containersOf(process.pid)).toEqual([]);
    });
  });

  test.concurrent('the CLI: --runtime docker exits as on processes; SIGKILL mid-run leaves no container', async () => {
    // Two harness processes of their own, side by side: a run to its end, and one killed mid-run.
    const killing = (async () => {
      // A run long enough to be killed while its containers are up.
      const cli = startCli(['run', 'login-browse', '--runtime', 'docker', '--store', 'redis', '--duration', '10m']);
      const pid = cli.child.pid!;
      const deadline = Date.now() + 2 * timeoutBudgetMs();
      // Poll until its 3 replicas and its Redis are up.
      while ((await containersOf(pid)).length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      const up = await containersOf(pid);
      cli.child.kill('SIGKILL');
      await cli.done;
      return { up, left: await noContainersLeftBy(pid) };
    })();
    const finishing = startCli(['run', 'login-browse', '--runtime', 'docker', '--json']);
    const finished = await finishing.done;
    expect(finished.code, finished.stderr).toBe(1);
    const json = JSON.parse(finished.stdout) as { runtime: string; resets: { cause: string }[] };
    expect(json.runtime).toBe('docker');
    expect(json.resets.length).toBeGreaterThan(0);
    expect(new Set(json.resets.map((reset) => reset.cause))).toEqual(new Set(['replication']));
    expect(await noContainersLeftBy(finishing.child.pid!)).toEqual([]);

    const { up, left } = await killing;
    expect(up).toHaveLength(4);
    expect(left).toEqual([]);
  });
});
