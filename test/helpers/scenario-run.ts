import { startCluster, type StartedCluster } from '../../harness/cluster.js';
import type { ClusterEvent, RequestRecord } from '../../harness/history/history.js';
import { runScenario, type RunOptions, type RunResult } from '../../harness/runner/run.js';
import { loadScenario, parseScenario } from '../../harness/scenario/load.js';
import { planRun, type PlanOverrides } from '../../harness/scenario/plan.js';
import type { Scenario, ScenarioStep } from '../../harness/scenario/schema.js';
import { budgetShare } from '../../harness/util/budget.js';

type RunOverrides = PlanOverrides & { users?: number; repeat?: number; clientAddresses?: number };

/**
 * Whether the run has seen what it waits for, asked of each record as it
 * completes, with the cluster's events so far (a fault that takes a while
 * completes its event: `lostBy`).
 */
export type StopWhen = (record: RequestRecord, events: readonly ClusterEvent[]) => boolean;

/**
 * What a run that waits for something goes on with: `step` again after a
 * pause, for a third of the time budget (10 s by default, more with
 * SLAB_BUDGET_MS) — the user coming back until `runUntil` stops the run.
 * A restart (of Redis, of a backend) takes seconds on a busy machine, more
 * than the rest of a scenario: without these the run may end before it.
 */
export function comeBack(step: ScenarioStep, pauseMs = 250): ScenarioStep[] {
  const times = Math.ceil(budgetShare(1 / 3) / pauseMs);
  return Array.from({ length: times }, (): ScenarioStep[] => [{ name: 'pause', wait: pauseMs }, step]).flat();
}

/**
 * runScenario, stopped once `until` holds for a record (the requests in
 * flight then complete; the steps left were only `comeBack` retries).
 */
export function runUntil(cluster: StartedCluster, scenario: Scenario, options: RunOptions, until?: StopWhen): Promise<RunResult> {
  if (!until) return runScenario(cluster, scenario, options);
  const done = new AbortController();
  return runScenario(cluster, scenario, {
    ...options,
    signal: done.signal,
    onRecord: (record) => {
      options.onRecord?.(record);
      if (until(record, cluster.history.events)) done.abort();
    },
  });
}

/**
 * Runs a built-in scenario on a cluster of its own, as `session-lab run`
 * does; `then` steps are appended to the scenario's (e.g. `comeBack`), and
 * `until` stops the run (runUntil).
 */
export async function runBuiltIn(name: string, overrides: RunOverrides & { then?: ScenarioStep[]; until?: StopWhen } = {}): Promise<RunResult> {
  const { then, until, ...planned } = overrides;
  const loaded = loadScenario(name);
  const scenario = then ? parseScenario({ ...withoutFile(loaded), steps: [...loaded.steps, ...then] }, loaded.file) : loaded;
  const plan = planRun(scenario, planned);
  await using cluster = await startCluster(plan.cluster);
  return await runUntil(cluster, scenario, { client: plan.client, fixed: plan.fixed, users: planned.users, repeat: planned.repeat, clientAddresses: planned.clientAddresses }, until);
}

const withoutFile = ({ file: _file, ...scenario }: Scenario & { file: string }): Scenario => scenario;

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
