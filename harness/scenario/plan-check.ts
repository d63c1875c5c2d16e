/**
 * What `runScenario(cluster, scenario)` can and cannot honour of the
 * scenario's plan on a cluster that is already running. The architecture —
 * servers, store, balancer — is the caller's choice, as command-line flags
 * win over a scenario; everything else the scenario states (https, site,
 * session settings, cookie faults at the balancer) is what the scenario
 * demonstrates, fixed when the cluster started. A difference there is an
 * error naming each setting, not a run that silently reports another cause.
 * Client settings and scheduled faults are the run's and are applied.
 */
import type { ResolvedClusterOptions } from '../cluster.js';
import { HarnessError } from '../errors.js';
import { isScheduledFault } from '../fault/faults.js';
import type { RunPlan } from './plan.js';

export function planConflicts(cluster: ResolvedClusterOptions, plan: RunPlan): string[] {
  const wanted = plan.cluster;
  const conflicts: string[] = [];
  const differ = (field: string, want: unknown, have: unknown) => {
    if (want !== undefined && want !== have) conflicts.push(`${field}: the scenario needs ${JSON.stringify(want)}, the cluster has ${JSON.stringify(have)}`);
  };
  differ('https', wanted.https, cluster.https);
  differ('site', wanted.site, cluster.site);
  for (const [key, value] of Object.entries(wanted.session ?? {})) differ(`session.${key}`, value, cluster.session[key as keyof typeof cluster.session]);
  for (const spec of wanted.faults ?? []) {
    if (!isScheduledFault(spec) && !cluster.faults.includes(spec))
      conflicts.push(`faults: the scenario needs the cookie fault ${JSON.stringify(spec)} at the balancer, the cluster has ${cluster.faults.length ? cluster.faults.join(', ') : 'none'}`);
  }
  return conflicts;
}

export function assertPlanFits(scenarioName: string, cluster: ResolvedClusterOptions, plan: RunPlan): void {
  const conflicts = planConflicts(cluster, plan);
  if (conflicts.length === 0) return;
  throw new HarnessError(
    'SLAB_ERR_PLAN_CONFLICT',
    `scenario ${scenarioName}${plan.fixed ? ' (fixed)' : ''} cannot run on this started cluster:\n  ${conflicts.join('\n  ')}\n` +
      `Use runScenarioOnNewCluster(scenario, overrides), which starts the cluster the scenario plans, ` +
      `or start it yourself with startCluster(planRun(scenario).cluster) and pass { plan } to runScenario.`,
  );
}

/** The scenario's scheduled faults the cluster was not started with: the run fires them. */
export function scheduledFaultsToAdd(cluster: ResolvedClusterOptions, plan: RunPlan): string[] {
  return (plan.cluster.faults ?? []).filter((spec) => isScheduledFault(spec) && !cluster.faults.includes(spec));
}
