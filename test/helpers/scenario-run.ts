import { startCluster } from '../../harness/cluster.js';
import { runScenario, type RunResult } from '../../harness/runner/run.js';
import { loadScenario } from '../../harness/scenario/load.js';
import { planRun, type PlanOverrides } from '../../harness/scenario/plan.js';

/** Runs a built-in scenario on a cluster of its own, as `session-lab run` does. */
export async function runBuiltIn(name: string, overrides: PlanOverrides & { users?: number; repeat?: number; clientAddresses?: number } = {}): Promise<RunResult> {
  const scenario = loadScenario(name);
  const plan = planRun(scenario, overrides);
  await using cluster = await startCluster(plan.cluster);
  return await runScenario(cluster, scenario, { client: plan.client, fixed: plan.fixed, users: overrides.users, repeat: overrides.repeat, clientAddresses: overrides.clientAddresses });
}
