import type { AppCommand } from '../backend/command-launcher.js';
import { expressServerApp } from '../backend/express-server.js';
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

/** A scenario's app block as it stands after merging: a command, or `server: express`. */
type ScenarioApp = NonNullable<ScenarioCluster['app']>;

function mergeCluster(base: ClusterOptions, next: ScenarioCluster | undefined): ClusterOptions {
  if (!next) return base;
  const { session, faults, app, ...rest } = next;
  const baseApp = base.app as ScenarioApp | undefined;
  // A misconfiguration's app changes the scenario's: its env adds to the scenario's (e.g. a secret per replica).
  const merged: ScenarioApp | undefined = app && {
    ...(app.command === undefined && app.server === undefined ? baseApp : {}),
    ...defined(app),
    env: { ...baseApp?.env, ...app.env },
  };
  return {
    ...base,
    ...(defined(rest) as ClusterOptions),
    ...(merged && { app: merged as AppCommand }),
    session: { ...base.session, ...defined(session) },
    faults: [...(base.faults ?? []), ...(faults ?? [])],
  };
}

/** `server: express` → the bundled Express server's command, with the scenario's env (its knobs: SAVE_UNINITIALIZED, ROLLING…). */
function resolveApp(app: ScenarioApp | undefined): AppCommand | undefined {
  if (!app || app.server === undefined) return app as AppCommand | undefined;
  const { server: _server, env, ...rest } = app;
  return { ...expressServerApp(env), ...defined(rest) };
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
  if (cluster.app) cluster.app = resolveApp(cluster.app as ScenarioApp);
  return { cluster, client, fixed };
}
