import { startCluster, type ClusterOptions } from '../cluster.js';
import { planRun, type PlanOverrides } from '../scenario/plan.js';
import type { Scenario } from '../scenario/schema.js';
import { runScenario, type RunOptions, type RunResult } from './run.js';

export interface NewClusterRunOptions extends PlanOverrides, Omit<RunOptions, 'client' | 'fixed' | 'plan'> {
  /** Cluster options the scenario does not plan: a Redis to use, a logger. */
  clusterOptions?: Pick<ClusterOptions, 'redisUrl' | 'logger'>;
}

/**
 * Plans the scenario (its cluster, its misconfiguration unless `fixed`,
 * then the overrides), starts that cluster, runs the scenario on it and
 * stops it — as `session-lab run` does. The cluster is stopped however the
 * run ends.
 */
export async function runScenarioOnNewCluster(scenario: Scenario, overrides: NewClusterRunOptions = {}): Promise<RunResult> {
  const { fixed, cluster: clusterOverrides, faults, clusterOptions, ...runOptions } = overrides;
  const plan = planRun(scenario, { fixed, cluster: clusterOverrides, faults });
  const cluster = await startCluster({ ...plan.cluster, ...clusterOptions });
  try {
    return await runScenario(cluster, scenario, { ...runOptions, plan });
  } finally {
    await cluster.stop();
  }
}
