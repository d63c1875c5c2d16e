import type { ClusterOptions } from '../cluster.js';
import type { Scenario, ScenarioClient, ScenarioCluster } from './schema.js';

/**
 * What a scenario run needs, settings merged in order: the scenario's
 * cluster and client, then its misconfiguration (unless `fixed`), then the
 * command line. Faults add up.
 */
export interface RunPlan {
  cluster: ClusterOptions;
  client: ScenarioClient;
  fixed: boolean;
}

export interface PlanOverrides {
  /** Leave the scenario's misconfiguration out. */
  fixed?: boolean;
  /** From the command line; wins over the scenario. */
  cluster?: Omit<ClusterOptions, 'faults' | 'session'>;
  /** Extra faults from the command line. */
  faults?: string[];
}

function defined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function mergeCluster(base: ClusterOptions, next: ScenarioCluster | undefined): ClusterOptions {
  if (!next) return base;
  const { session, faults, ...rest } = next;
  return {
    ...base,
    ...(defined(rest) as ClusterOptions),
    session: { ...base.session, ...defined(session) },
    faults: [...(base.faults ?? []), ...(faults ?? [])],
  };
}

export function planRun(scenario: Scenario, overrides: PlanOverrides = {}): RunPlan {
  const fixed = overrides.fixed ?? false;
  let cluster = mergeCluster({}, scenario.cluster);
  let client: ScenarioClient = { ...defined(scenario.client) };
  if (!fixed && scenario.misconfiguration) {
    cluster = mergeCluster(cluster, scenario.misconfiguration.cluster);
    client = { ...client, ...defined(scenario.misconfiguration.client) };
  }
  cluster = { ...cluster, ...defined(overrides.cluster), faults: [...(cluster.faults ?? []), ...(overrides.faults ?? [])] };
  return { cluster, client, fixed };
}
