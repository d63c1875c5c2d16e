/**
 * session-lab's library API. Everything else under harness/ is internal.
 *
 *   await using cluster = await startCluster({ servers: 3, store: 'memory' });
 *   const result = await runScenario(cluster, loadScenario('login-browse'), { users: 5 });
 *   result.resets  // [{ user, run, step, request, cause: 'replication', evidence }]
 */
export { startCluster, CLUSTER_DEFAULTS, STORE_KINDS } from './cluster.js';
export type { ClusterOptions, StartedCluster, StoreKind } from './cluster.js';
export { BALANCER_NAMES } from './balancer/strategies.js';
export type { BalancerName } from './balancer/strategies.js';
export type { BalancingStrategy, BalancerTarget } from './balancer/strategy.js';
export type { ProxyRecord } from './balancer/proxy.js';
export { FRONT_NAMES } from './balancer/front.js';
export type { FrontName } from './balancer/front.js';
export { REAL_BALANCER_NAMES } from './balancer/real-front.js';
export type { RealBalancerName } from './balancer/real-front.js';
export { startTap } from './tap/tap.js';
export type { StartedTap, StartTapOptions } from './tap/tap.js';
export { proxyRecordFromTap } from './tap/join.js';
export type { StartedBackend, BackendLogLine } from './backend/backend-process.js';
export { provisionRedis } from './redis/provision.js';
export { containerLauncher } from './backend/container-launcher.js';
export type { ContainerLauncherOptions } from './backend/container-launcher.js';
export { RUNTIMES } from './backend/runtime.js';
export type { Runtime } from './backend/runtime.js';
export type { ProvisionedRedis } from './redis/provision.js';
export { VirtualUser } from './client/virtual-user.js';
export { loadScenario, loadScenarioFile, parseScenario, builtInScenarioNames } from './scenario/load.js';
export type { LoadedScenario } from './scenario/load.js';
export type { Scenario, ScenarioStep, StepExpectations } from './scenario/schema.js';
export { runScenario, RUN_DEFAULTS, CLIENT_KINDS } from './runner/run.js';
export type { RunOptions, RunResult, ExpectationFailure, ClientKind } from './runner/run.js';
export { launchChromium } from './util/chromium.js';
export type { StartedChromium, ChromiumOptions, HostMapping } from './util/chromium.js';
export { diagnose, countByCause, RESET_CAUSES } from './diagnosis/diagnose.js';
export type { Verdict, ResetCause } from './diagnosis/diagnose.js';
export type { History, RequestRecord, ClusterEvent, Topology, JarCookie, TapRecord } from './history/history.js';
export { HarnessError, isHarnessError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { planRun } from './scenario/plan.js';
export type { RunPlan, PlanOverrides } from './scenario/plan.js';
export type { RunProgress } from './runner/run.js';
export { checkConsistency, countAnomalies, ANOMALY_KINDS } from './consistency/check.js';
export type { Anomaly, AnomalyKind, Operation } from './consistency/check.js';
export { compare, formatComparison, COMPARE_FORMATS } from './compare/compare.js';
export type { CompareOptions, CompareRow, CompareFormat } from './compare/compare.js';
export { FAULTS, SCHEDULED_FAULTS, parseFault, parseScheduledFault, validateFault } from './fault/faults.js';
export type { CookieFault, FaultDefinition } from './fault/fault.js';
export type { ScheduledFault, ScheduledFaultDefinition } from './fault/scheduled/scheduled-fault.js';
export { createStrategy, STRATEGIES } from './balancer/strategies.js';
export { sessionsPerPerson } from './diagnosis/diagnose.js';
export type { PersonSessions } from './diagnosis/diagnose.js';
export { setTimeoutBudget, timeoutBudgetMs, BUDGET_ENV, DEFAULT_BUDGET_MS } from './util/budget.js';
export { parseDuration } from './util/duration.js';
