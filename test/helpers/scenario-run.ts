import { startCluster } from '../../harness/cluster.js';
import { runScenario, type RunResult } from '../../harness/runner/run.js';
import { loadScenario } from '../../harness/scenario/load.js';
import { planRun, type PlanOverrides } from '../../harness/scenario/plan.js';

type RunOverrides = PlanOverrides & { users?: number; repeat?: number; clientAddresses?: number };

/** Runs a built-in scenario on a cluster of its own, as `session-lab run` does. */
export async function runBuiltIn(name: string, overrides: RunOverrides = {}): Promise<RunResult> {
  const scenario = loadScenario(name);
  const plan = planRun(scenario, overrides);
  await using cluster = await startCluster(plan.cluster);
  return await runScenario(cluster, scenario, { client: plan.client, fixed: plan.fixed, users: overrides.users, repeat: overrides.repeat, clientAddresses: overrides.clientAddresses });
}

const shared = new Map<string, Promise<RunResult>>();

/**
 * The same run as runBuiltIn, made once per test file for every test that
 * asks for the same scenario and overrides and only reads the result: the
 * tests check different things of one real run instead of repeating it.
 * Callers must not change the result.
 */
export function sharedRun(name: string, overrides: RunOverrides = {}): Promise<RunResult> {
  const key = JSON.stringify([name, overrides]);
  let run = shared.get(key);
  if (!run) {
    run = runBuiltIn(name, overrides);
    shared.set(key, run);
  }
  return run;
}
