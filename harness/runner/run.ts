/**
 * Runs a scenario against a started cluster: V virtual users × R
 * repetitions, users concurrent (bounded), each user's steps in order.
 * Every request becomes one history record joining the client's view with
 * the balancer's and the backend's; then the diagnosis reads the history.
 */
import { randomBytes } from 'node:crypto';
import { parseCookie } from 'cookie';
import { setTimeout as delay } from 'node:timers/promises';
import { REQUEST_ID_HEADER, type ProxyRecord } from '../balancer/proxy.js';
import { clientAddress, createSiteDispatcher } from '../client/network.js';
import { checkConsistency, type Anomaly } from '../consistency/check.js';
import { VirtualUser, type ClientExchange } from '../client/virtual-user.js';
import type { StartedCluster } from '../cluster.js';
import { countByCause, diagnose, sessionsPerPerson, type PersonSessions, type ResetCause, type Verdict } from '../diagnosis/diagnose.js';
import { HarnessError } from '../errors.js';
import type { ClusterEvent, RequestRecord } from '../history/history.js';
import { isScheduledFault, parseScheduledFault } from '../fault/faults.js';
import type { ScheduledFault } from '../fault/scheduled/scheduled-fault.js';
import { planRun } from '../scenario/plan.js';
import type { Scenario, ScenarioClient, ScenarioStep } from '../scenario/schema.js';
import { checkExpectations } from './expectations.js';

export interface RunOptions {
  /** Virtual users, each with its own cookie jar. */
  users?: number;
  /** Times each user runs the scenario, each time with a new, empty jar. */
  repeat?: number;
  /** Users in flight at once. */
  concurrency?: number;
  /** Stops issuing requests when aborted. */
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** The scenario's client settings as planned (planRun); by default, the scenario's own. */
  client?: ScenarioClient;
  /** Run without the scenario's misconfiguration: no reset is expected anywhere. */
  fixed?: boolean;
  /**
   * How many distinct client addresses the users come from (127.0.x.y):
   * user u uses address (u-1) mod N. Default: one per user, as real users,
   * up to 1000 (beyond that users share, as behind NATs, which bounds the
   * open connections); 1 puts everyone behind one NAT.
   */
  clientAddresses?: number;
}

/** Bodies kept in the history, for the consistency checker; larger ones are left out. */
const BODY_LIMIT = 4096;

export const RUN_DEFAULTS = { users: 1, repeat: 1, concurrency: 64 } as const;

export interface ExpectationFailure {
  user: number;
  run: number;
  step: number;
  request: string;
  message: string;
}

export interface RunResult {
  scenario: string;
  /** Run without the scenario's misconfiguration (--fixed). */
  fixed: boolean;
  store: string;
  balancer: string;
  faults: string[];
  servers: number;
  users: number;
  repeat: number;
  requests: number;
  /** Requests that got no response, or a 5xx. */
  errors: number;
  resets: Verdict[];
  resetsByCause: Record<ResetCause, number>;
  /** What the consistency checker found in the session records. */
  anomalies: Anomaly[];
  /** Users who used several browsers: separate sessions, not resets. */
  people: PersonSessions[];
  failures: ExpectationFailure[];
  requestsPerBackend: Record<string, number>;
  /** What happened to the cluster during the run (scheduled faults). */
  events: ClusterEvent[];
  latencyMs: { p50: number; p95: number; p99: number };
  durationMs: number;
  passed: boolean;
  /** This run's records, also in cluster.history. */
  records: RequestRecord[];
}

interface PlannedStep {
  number: number;
  step: ScenarioStep;
  /** For a `together` group: its requests, each with its own number. */
  group?: { number: number; step: ScenarioStep }[];
}

function expandSteps(scenario: Scenario): PlannedStep[] {
  const planned: PlannedStep[] = [];
  let number = 0;
  for (const step of scenario.steps) {
    for (let i = 0; i < (step.repeat ?? 1); i++) {
      if (step.together) {
        const group = step.together.map((inner) => ({ number: ++number, step: inner }));
        planned.push({ number: group[0].number, step, group });
      } else {
        planned.push({ number: ++number, step });
      }
    }
  }
  return planned;
}

/** Fills `{{user}}`, `{{run}}` and `{{step}}` in a path or body, so each user's data is its own. */
function fill(text: string, values: { user: number; run: number; step: number }): string {
  return text.replace(/\{\{(user|run|step)\}\}/g, (_, key: 'user' | 'run' | 'step') => String(values[key]));
}

function positiveInteger(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${field}: expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Where a step goes: the URL as the user's browser would have it. */
function stepUrl(cluster: StartedCluster, client: ScenarioClient, step: ScenarioStep, previousBody: string | undefined): string {
  if (step.follow) {
    let link: unknown;
    try {
      link = (JSON.parse(previousBody ?? '') as Record<string, unknown>)[step.follow];
    } catch {
      link = undefined;
    }
    if (typeof link !== 'string' || !/^https?:\/\//.test(link)) {
      throw new Error(`follow: the previous response has no absolute URL in field "${step.follow}"`);
    }
    return link;
  }
  const scheme = step.scheme ?? client.scheme ?? (cluster.options.https ? 'https' : 'http');
  const host = client.host ?? 'site';
  if (host === 'site') return new URL(step.path!, cluster.siteUrl(scheme)).toString();
  const port = scheme === 'https' ? cluster.site.httpsPort : cluster.site.httpPort;
  return new URL(step.path!, `${scheme}://${host}:${port}/`).toString();
}

export async function runScenario(cluster: StartedCluster, scenario: Scenario, options: RunOptions = {}): Promise<RunResult> {
  const users = positiveInteger('users', options.users ?? RUN_DEFAULTS.users);
  const repeat = positiveInteger('repeat', options.repeat ?? RUN_DEFAULTS.repeat);
  const concurrency = positiveInteger('concurrency', options.concurrency ?? RUN_DEFAULTS.concurrency);
  const fixed = options.fixed ?? false;
  const client = options.client ?? planRun(scenario, { fixed }).client;
  const policy = { cookies: client.cookies, secureOnLocal: client.secureOnLocal };
  const steps = expandSteps(scenario);
  const requestsPerRun = steps.reduce((n, { step, group }) => n + (group ? group.length : step.wait === undefined ? 1 : 0), 0);
  const cookieName = cluster.options.session.cookieName;
  const runId = randomBytes(3).toString('hex');
  const total = users * repeat * requestsPerRun;
  const records: RequestRecord[] = [];
  const addresses = Math.min(positiveInteger('clientAddresses', options.clientAddresses ?? Math.min(users, 1000)), 60_000);
  const dispatchers = new Map<number, ReturnType<typeof createSiteDispatcher>>();
  const dispatcherFor = (user: number) => {
    const index = (user - 1) % addresses;
    let dispatcher = dispatchers.get(index);
    if (!dispatcher) {
      dispatcher = createSiteDispatcher(cluster.site, { localAddress: clientAddress(index), connections: Math.max(4, Math.ceil(256 / addresses)) });
      dispatchers.set(index, dispatcher);
    }
    return dispatcher;
  };
  const started = Date.now();
  let done = 0;

  // Scheduled faults: each fires once, at a time or after the k-th request.
  const scheduled = cluster.options.faults.filter(isScheduledFault).map((spec) => parseScheduledFault(spec, 'faults'));
  const firing: Promise<void>[] = [];
  const faultErrors: string[] = [];
  const fire = (fault: ScheduledFault) =>
    firing.push(
      fault.act(cluster).catch((error: unknown) => {
        faultErrors.push(`${fault.spec}: ${(error as Error).message}`);
      }),
    );
  const byCount = scheduled
    .filter((fault) => !('atMs' in fault.schedule))
    .map((fault) => ({
      fault,
      after: 'afterRequests' in fault.schedule ? fault.schedule.afterRequests : Math.max(1, Math.ceil(total * (fault.schedule as { fractionOfRequests: number }).fractionOfRequests)),
    }));
  const timers = scheduled
    .filter((fault) => 'atMs' in fault.schedule)
    .map((fault) => setTimeout(() => fire(fault), (fault.schedule as { atMs: number }).atMs));
  cluster.recordEvent({ kind: 'run-started' });
  const counted = () => {
    done++;
    for (const entry of byCount) if (entry.after === done) fire(entry.fault);
    options.onProgress?.(done, total);
  };

  /** One request of one user: sent, recorded with every hop's view, expectations checked. */
  const sendOne = async (vu: VirtualUser, where: { user: number; run: number; browser: number }, number: number, step: ScenarioStep, previousBody: string | undefined) => {
    const { user, run, browser } = where;
    const values = { user, run, step: number };
    const method = step.method!;
    const requestId = `${runId}.${user}.${run}.${number}`;
    const headers: Record<string, string> = { ...step.headers, [REQUEST_ID_HEADER]: requestId };
    let body = step.body === undefined ? undefined : fill(step.body, values);
    if (step.json !== undefined) {
      body = fill(JSON.stringify(step.json), values);
      headers['content-type'] ??= 'application/json';
    }
    let url: string;
    let linkError: string | undefined;
    try {
      url = stepUrl(cluster, client, step.path === undefined ? step : { ...step, path: fill(step.path, values) }, previousBody);
    } catch (error) {
      url = '';
      linkError = (error as Error).message;
    }
    const sessionIdInJar = vu.cookieValue(cookieName);
    const withheld = url ? vu.explainWithheld(cookieName, url) : undefined;
    const time = Date.now();
    const exchange: ClientExchange = linkError
      ? { status: 0, headers: {}, body: '', cookieSent: undefined, setCookie: [], refused: [], durationMs: 0, error: linkError }
      : await vu.send({ method, url, headers, body });
    const sessionIdAfter = vu.cookieValue(cookieName);
    const sessionUser = header(exchange.headers, 'x-session-user');
    const reset = step.expect?.reset;
    const record: RequestRecord = {
      user,
      run,
      browser,
      step: number,
      stepName: step.name ?? `${method} ${step.path ?? step.follow}`,
      method,
      path: url ? new URL(url).pathname : (step.path ?? ''),
      url,
      requestId,
      time,
      durationMs: exchange.durationMs,
      cookieSent: exchange.cookieSent,
      sessionIdSent: exchange.cookieSent ? parseCookie(exchange.cookieSent)[cookieName] : undefined,
      sessionIdInJar,
      withheld,
      status: exchange.status,
      setCookie: exchange.setCookie,
      requestBody: body !== undefined && body.length <= BODY_LIMIT ? body : undefined,
      responseBody: exchange.body.length <= BODY_LIMIT ? exchange.body : undefined,
      refused: exchange.refused,
      sessionIdAfter,
      jarAfter: vu.contents(),
      error: exchange.error,
      backend: header(exchange.headers, 'x-backend'),
      sessionStatus: header(exchange.headers, 'x-session-status'),
      sessionUser,
      backendSessionHash: header(exchange.headers, 'x-session-id-hash'),
      storeWrite: header(exchange.headers, 'x-session-write'),
      sessionCookie: header(exchange.headers, 'x-session-cookie'),
      expiredBy: header(exchange.headers, 'x-session-expired'),
      proxy: undefined,
      // --fixed: the misconfiguration is gone, and with it the resets it caused; a logout stays.
      resetExpected: reset === undefined || (fixed && scenario.misconfiguration && reset !== 'logout') ? false : reset === 'logout' ? 'code' : reset,
      failures: checkExpectations(step.expect, { exchange, sessionUser, sessionIdBefore: sessionIdInJar, sessionIdAfter }),
    };
    records.push(record);
    cluster.history.requests.push(record);
    counted();
    return exchange.body;
  };

  const runUser = async (user: number) => {
    for (let run = 1; run <= repeat; run++) {
      const browsers = new Map<number, VirtualUser>();
      const browserFor = (browser: number) => {
        let vu = browsers.get(browser);
        if (!vu) browsers.set(browser, (vu = new VirtualUser(dispatcherFor(user), policy)));
        return vu;
      };
      let previousBody: string | undefined;
      for (const { number, step, group } of steps) {
        if (options.signal?.aborted) return;
        if (step.wait !== undefined) {
          // The user's think time, part of the scenario (idle timeouts need it).
          await delay(step.wait, undefined, { signal: options.signal }).catch(() => undefined);
          continue;
        }
        if (group) {
          // Concurrent requests of one user, from one browser each as the steps say.
          const bodies = await Promise.all(
            group.map((entry) => {
              const browser = entry.step.browser ?? 1;
              return sendOne(browserFor(browser), { user, run, browser }, entry.number, entry.step, previousBody);
            }),
          );
          previousBody = bodies[bodies.length - 1];
          continue;
        }
        const browser = step.browser ?? 1;
        previousBody = await sendOne(browserFor(browser), { user, run, browser }, number, step, previousBody);
      }
    }
  };

  try {
    let nextUser = 1;
    const worker = async () => {
      while (nextUser <= users) await runUser(nextUser++);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, users) }, worker));
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await Promise.all(firing);
    await Promise.all([...dispatchers.values()].map((dispatcher) => dispatcher.close()));
  }

  // Join the balancer's records by request id.
  const proxyById = new Map<string, ProxyRecord>();
  for (const proxyRecord of cluster.history.proxy) if (proxyRecord.requestId?.startsWith(runId)) proxyById.set(proxyRecord.requestId, proxyRecord);
  for (const record of records) record.proxy = proxyById.get(record.requestId);

  const runHistory = { ...cluster.history, requests: records, events: cluster.history.events.filter((e) => e.time >= started) };
  const resets = diagnose(runHistory);
  const anomalies = checkConsistency(runHistory);
  const failures: ExpectationFailure[] = [];
  const resetAt = new Set(resets.map((v) => `${v.user}/${v.run}/${v.step}`));
  for (const record of records) {
    const request = `${record.method} ${record.path}`;
    const where = { user: record.user, run: record.run, step: record.step, request };
    for (const message of record.failures) failures.push({ ...where, message });
    if (record.resetExpected && !resetAt.has(`${record.user}/${record.run}/${record.step}`)) {
      failures.push({ ...where, message: 'reset: expected a session reset here, none happened' });
    }
  }
  const expectedCause = new Map(records.map((r) => [`${r.user}/${r.run}/${r.step}`, r.resetExpected]));
  for (const verdict of resets) {
    const want = expectedCause.get(`${verdict.user}/${verdict.run}/${verdict.step}`);
    if (typeof want === 'string' && verdict.cause !== want) {
      failures.push({
        user: verdict.user,
        run: verdict.run,
        step: verdict.step,
        request: verdict.request,
        message: `reset: expected cause ${want}, diagnosed ${verdict.cause}`,
      });
    }
    if (!verdict.expected) {
      failures.push({
        user: verdict.user,
        run: verdict.run,
        step: verdict.step,
        request: verdict.request,
        message: `reset: unexpected session reset (cause ${verdict.cause})`,
      });
    }
  }
  for (const anomaly of anomalies) {
    const first = anomaly.sequence[0];
    failures.push({ user: anomaly.user, run: anomaly.run, step: first?.step ?? 0, request: first?.request ?? '-', message: `consistency: ${anomaly.kind} — ${anomaly.evidence}` });
  }
  for (const message of faultErrors) failures.push({ user: 0, run: 0, step: 0, request: '-', message: `fault: ${message}` });
  failures.sort((a, b) => a.user - b.user || a.run - b.run || a.step - b.step);

  const requestsPerBackend: Record<string, number> = Object.fromEntries(cluster.backends.map((b) => [b.name, 0]));
  for (const record of records) if (record.backend) requestsPerBackend[record.backend] = (requestsPerBackend[record.backend] ?? 0) + 1;
  const latencies = records.filter((r) => !r.error).map((r) => r.durationMs).sort((a, b) => a - b);

  return {
    scenario: scenario.name,
    fixed,
    store: cluster.options.store,
    balancer: cluster.options.balancer,
    faults: cluster.options.faults,
    servers: cluster.backends.length,
    users,
    repeat,
    requests: records.length,
    errors: records.filter((r) => r.error || r.status >= 500).length,
    resets,
    resetsByCause: countByCause(resets),
    people: sessionsPerPerson(runHistory),
    anomalies,
    failures,
    requestsPerBackend,
    events: runHistory.events.filter((e) => e.kind !== 'run-started'),
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) },
    durationMs: Date.now() - started,
    passed: failures.length === 0 && records.length === total,
    records,
  };
}
