/**
 * Runs a scenario against a started cluster: V virtual users × R passes
 * (or passes until a duration or request count is reached), users
 * concurrent and bounded, each user's steps in order. Every request becomes
 * one history record joining the client's view with the balancer's and the
 * backend's; each user's pass is settled (diagnosed, checked, counted) as
 * soon as it ends, and with a history file it is streamed to disk and
 * dropped, so a long run's memory stays flat.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { createRedactor } from '../history/redact.js';
import { parseCookie } from 'cookie';
import { REQUEST_ID_HEADER } from '../balancer/proxy.js';
import { formatRequestId } from '../balancer/request-identity.js';
import { clientAddress, createSiteDispatcher } from '../client/network.js';
import { VirtualUser, type ClientExchange } from '../client/virtual-user.js';
import { ChromiumUser, startChromiumClients } from '../client/chromium-user.js';
import { checkClientKind, RUN_DEFAULTS, type ClientKind } from './run-options.js';
import type { StartedCluster } from '../cluster.js';
import type { Runtime } from '../backend/runtime.js';
import type { Anomaly } from '../consistency/check.js';
import type { PersonSessions, ResetCause, Verdict } from '../diagnosis/diagnose.js';
import { HarnessError } from '../errors.js';
import { assertFaultFits, isScheduledFault, parseScheduledFault } from '../fault/faults.js';
import type { ScheduledFault } from '../fault/scheduled/scheduled-fault.js';
import type { ClusterEvent, RequestRecord } from '../history/history.js';
import { HistoryWriter } from '../history/history-file.js';
import { planRun, type RunPlan } from '../scenario/plan.js';
import { assertPlanFits, scheduledFaultsToAdd } from '../scenario/plan-check.js';
import type { Scenario, ScenarioClient, ScenarioStep } from '../scenario/schema.js';
import { proxyRecordFromTap } from '../tap/join.js';
import { checkExpectations } from './expectations.js';
import { BLACK_BOX_DEFAULTS, detectSessionCookie, type BlackBoxRules } from '../diagnosis/wire-view.js';
import { sendWitnesses } from './witnesses.js';
import { logExcerpts, type LogExcerpt } from '../report/log-excerpt.js';
import { expandSteps, fill, requestsPerRun, stepUrl } from './steps.js';
import { Tally, type ExpectationFailure } from './tally.js';

export type { ExpectationFailure } from './tally.js';

export interface RunProgress {
  done: number;
  /** Undefined for a run bounded by time. */
  total: number | undefined;
  resets: number;
  elapsedMs: number;
}

export interface RunOptions {
  /** Virtual users, each with its own cookie jar. */
  users?: number;
  /** Passes each user makes through the scenario, each with a new, empty jar (default 1; unbounded with durationMs). */
  repeat?: number;
  /** Stop starting new passes after this long (ms). */
  durationMs?: number;
  /** Stop after about this many requests (the passes in flight finish). */
  maxRequests?: number;
  /** Users in flight at once. */
  concurrency?: number;
  /** Stops issuing requests when aborted. */
  signal?: AbortSignal;
  onProgress?: (progress: RunProgress) => void;
  /**
   * Each request's record as soon as it is complete (before the run ends), e.g.
   * to abort `signal` once the request a test waits for has been answered.
   */
  onRecord?: (record: RequestRecord) => void;
  /**
   * The plan the cluster was started from (planRun): its client settings are
   * used as they are. Without it, runScenario plans the scenario itself,
   * applies its client settings and scheduled faults, and refuses
   * (SLAB_ERR_PLAN_CONFLICT) a cluster whose https, site, session settings
   * or cookie faults differ from what the scenario needs.
   */
  plan?: RunPlan;
  /** The scenario's client settings as planned (planRun), for callers that planned the run themselves. */
  client?: ScenarioClient;
  /** Run without the scenario's misconfiguration: no reset is expected anywhere. */
  fixed?: boolean;
  /**
   * Who sends the requests: `virtual-user` (default; undici and a jar that
   * follows Chromium's rules) or `chromium` (a real headless Chromium
   * profile per user and pass; a few passes only, from 127.0.0.1).
   */
  clientKind?: ClientKind;
  /**
   * How many distinct client addresses the users come from (127.0.x.y):
   * user u uses address (u-1) mod N. Default: one per user, as real users,
   * up to 1000 (beyond that users share, as behind NATs, which bounds the
   * open connections); 1 puts everyone behind one NAT.
   */
  clientAddresses?: number;
  /**
   * Stream every record to this file as JSON lines, each with a `type`: the
   * topology, then each
   * request as its user's pass ends, then the events) instead of keeping
   * them: memory stays flat. The result then keeps only example records.
   */
  historyFile?: string;
  /** Keep cookie values, session ids and passwords in the history file as sent (default: hashed and redacted, harness/history/redact.ts). */
  historyRaw?: boolean;
  /** A response header that names the backend (e.g. X-Served-By), for systems session-lab did not start (--target). */
  backendHeader?: string;
}

/** Bodies kept in the history, for the consistency checker; larger ones are left out. */
const BODY_LIMIT = 4096;
/** Passes per user when a run is bounded by time or count only. */
const OPEN_ENDED_REPEAT = 1_000_000_000;

export { CLIENT_KINDS, checkClientKind, RUN_DEFAULTS, type ClientKind } from './run-options.js';

export interface RunResult {
  scenario: string;
  /** Run without the scenario's misconfiguration (--fixed). */
  fixed: boolean;
  store: string;
  balancer: string;
  faults: string[];
  servers: number;
  /** Where the app servers ran: processes or containers (`--runtime`). */
  runtime: Runtime;
  /** What sent the requests: virtual users with session-lab's jar, or real Chromium (`--client`). */
  client: ClientKind;
  /** The session cookie's name (its values appear in reports only as hashes). */
  cookieName: string;
  users: number;
  repeat: number;
  requests: number;
  /** Requests that got no response, or a 5xx. */
  errors: number;
  /** The resets (the first 10 000 of resetsTotal). */
  resets: Verdict[];
  resetsTotal: number;
  resetsByCause: Record<ResetCause, number>;
  /** What the consistency checker found in the session records (the first 10 000). */
  anomalies: Anomaly[];
  anomaliesTotal: number;
  /** Users who used several browsers: separate sessions, not resets. */
  people: PersonSessions[];
  /** Expectations that did not hold (the first 10 000 of failuresTotal). */
  failures: ExpectationFailure[];
  failuresTotal: number;
  requestsPerBackend: Record<string, number>;
  /** What happened to the cluster during the run (scheduled faults). */
  events: ClusterEvent[];
  latencyMs: { p50: number; p95: number; p99: number };
  durationMs: number;
  /** When the run started (epoch ms, the history's run-started): the report's times count from it. */
  startedAt?: number;
  /** The seed session-lab's balancer drew its choices from (replay with `--seed` / ClusterOptions.seed); absent behind nginx, HAProxy or --target. */
  seed?: number;
  passed: boolean;
  /** This run's records (all of them, or examples when streamed to historyFile). */
  records: RequestRecord[];
  historyFile?: string;
  /** What the backends logged around the first resets, redacted (report/log-excerpt.ts); none when the cluster kept no backend log. */
  backendLogs?: LogExcerpt[];
}

function positiveInteger(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${field}: expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The numeric headers present, under the given field names. */
function numericHeaders<K extends string>(headers: Record<string, string | string[] | undefined>, names: Record<K, string>): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const [field, name] of Object.entries(names) as [K, string][]) {
    const value = Number(header(headers, name));
    if (header(headers, name) !== undefined && Number.isFinite(value)) out[field] = value;
  }
  return out;
}

/**
 * A cookie value as servers read it (and as the Cookie header is parsed):
 * percent-decoded. The jar keeps values as set — express-session's signed
 * ids arrive as `s%3A…` — so jar and header readings of one id must agree.
 */
function serverReading(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export async function runScenario(cluster: StartedCluster, scenario: Scenario, options: RunOptions = {}): Promise<RunResult> {
  const users = positiveInteger('users', options.users ?? RUN_DEFAULTS.users);
  const openEnded = options.durationMs !== undefined || options.maxRequests !== undefined;
  const repeat = positiveInteger('repeat', options.repeat ?? (openEnded ? OPEN_ENDED_REPEAT : RUN_DEFAULTS.repeat));
  const concurrency = positiveInteger('concurrency', options.concurrency ?? RUN_DEFAULTS.concurrency);
  const fixed = options.plan?.fixed ?? options.fixed ?? false;
  // A caller that planned the run (the CLI, compare) says so; otherwise the scenario's plan must fit the cluster.
  const planned = options.plan ?? planRun(scenario, { fixed });
  const checked = !options.plan && !options.client;
  if (checked) assertPlanFits(scenario.name, cluster.options, planned);
  const client = options.client ?? planned.client;
  const extraFaults = checked ? scheduledFaultsToAdd(cluster.options, planned) : [];
  const policy = { cookies: client.cookies, secureOnLocal: client.secureOnLocal };
  const steps = expandSteps(scenario);
  const perRun = requestsPerRun(steps);
  // A foreign app's session cookie may be unknown until its first Set-Cookie names it.
  let cookieName: string | undefined = cluster.history.topology.cookieName || undefined;
  const blackBox = resolveBlackBox(scenario.blackBox);
  cluster.history.topology.blackBox = blackBox;
  const backendHeader = options.backendHeader?.toLowerCase();
  const runId = randomBytes(3).toString('hex');
  const plannedRequests = repeat === OPEN_ENDED_REPEAT ? undefined : users * repeat * perRun;
  const total = options.maxRequests !== undefined ? Math.min(options.maxRequests, plannedRequests ?? Infinity) : plannedRequests;
  const tally = new Tally(
    cluster.backends.map((b) => b.name),
    !options.historyFile,
  );
  const out = options.historyFile ? new HistoryWriter(options.historyFile) : undefined;
  const redactor = options.historyRaw ? undefined : createRedactor(scenario.secretFields);

  const clientKind = options.clientKind ?? 'virtual-user';
  checkClientKind(clientKind, { users, repeat, openEnded, client, scenario: scenario.name });
  const chromium = clientKind === 'chromium' ? await startChromiumClients(cluster.site) : undefined;
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
  const deadline = options.durationMs !== undefined ? started + options.durationMs : Infinity;
  let done = 0;

  // Scheduled faults: each fires once, at a time or after the k-th request.
  const scheduled = [...cluster.options.faults, ...extraFaults].filter(isScheduledFault).map((spec) => parseScheduledFault(spec, 'faults'));
  // Refuse faults this cluster cannot have before the first request, not halfway through.
  for (const fault of scheduled) assertFaultFits(fault, cluster);
  // Faults that shape the cluster from the first request on (replicas trailing the primary).
  for (const fault of scheduled) await fault.arm?.(cluster);
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
    .map((fault) => {
      const schedule = fault.schedule as { afterRequests: number } | { fractionOfRequests: number };
      const after = 'afterRequests' in schedule ? schedule.afterRequests : Math.max(1, Math.ceil((total ?? users * perRun) * schedule.fractionOfRequests));
      return { fault, after };
    });
  const timers = scheduled.filter((fault) => 'atMs' in fault.schedule).map((fault) => setTimeout(() => fire(fault), (fault.schedule as { atMs: number }).atMs));
  cluster.recordEvent({ kind: 'run-started' });
  // What `session-lab diagnose` needs to settle the file as this run does.
  await out?.write([
    { type: 'topology', ...cluster.history.topology },
    { type: 'run', scenario: scenario.name, fixed, users, client: clientKind, started, ...(cluster.options.seed === undefined ? {} : { seed: cluster.options.seed }) },
  ]);
  const counted = () => {
    done++;
    for (const entry of byCount) if (entry.after === done) fire(entry.fault);
    options.onProgress?.({ done, total, resets: tally.resetsTotal, elapsedMs: Date.now() - started });
  };

  /** One request of one user: sent, recorded with every hop's view, expectations checked. */
  const sendOne = async (vu: VirtualUser | ChromiumUser, where: { user: number; run: number; browser: number }, number: number, step: ScenarioStep, previousBody: string | undefined) => {
    const { user, run, browser } = where;
    const values = { user, run, step: number };
    const method = step.method!;
    const requestId = formatRequestId(runId, { user, run, step: number });
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
    if (vu instanceof ChromiumUser) await vu.refresh();
    const sessionIdInJar = cookieName ? serverReading(vu.cookieValue(cookieName)) : undefined;
    const withheld = url && cookieName ? vu.explainWithheld(cookieName, url, method, step.from) : undefined;
    const time = Date.now();
    const exchange: ClientExchange = linkError
      ? { status: 0, headers: {}, body: '', cookieSent: undefined, setCookie: [], refused: [], durationMs: 0, error: linkError }
      : await vu.send({ method, url, headers, body, from: step.from });
    if (!cookieName) {
      cookieName = detectSessionCookie(exchange.setCookie);
      if (cookieName) cluster.history.topology.cookieName = cookieName;
    }
    const sessionIdAfter = cookieName ? serverReading(vu.cookieValue(cookieName)) : undefined;
    const proxy = cluster.takeProxyRecord(requestId);
    // Chromium reports the Cookie header it prepared, but reads its cookie store again when the request
    // leaves (a cookie that expired meanwhile is not sent): session-lab's own balancer saw the wire.
    const cookieSent = vu instanceof ChromiumUser && proxy ? proxy.cookieIn : exchange.cookieSent;
    const tap = cluster.takeTapRecord(requestId);
    const servedBy = backendHeader ? header(exchange.headers, backendHeader) : undefined;
    const location = header(exchange.headers, 'location');
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
      cookieSent,
      sessionIdSent: cookieSent && cookieName ? parseCookie(cookieSent)[cookieName] : undefined,
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
      // Foreign apps do not say who they are: the balancer's choice (when it reached one), or their own header.
      backend: header(exchange.headers, 'x-backend') ?? (proxy?.error ? undefined : (proxy?.backend ?? tap?.backend ?? servedBy)),
      sessionStatus: header(exchange.headers, 'x-session-status'),
      sessionRejected: header(exchange.headers, 'x-session-rejected'),
      sessionUser,
      backendSessionHash: header(exchange.headers, 'x-session-id-hash'),
      storeWrite: header(exchange.headers, 'x-session-write'),
      sessionCookie: header(exchange.headers, 'x-session-cookie'),
      expiredBy: header(exchange.headers, 'x-session-expired'),
      ...numericHeaders(exchange.headers, { expiredAfterMs: 'x-session-expired-after', expiredLimitMs: 'x-session-expired-limit' }),
      storeRead: header(exchange.headers, 'x-session-store-read'),
      storeWriteAt: header(exchange.headers, 'x-session-store-write'),
      proxy,
      tap,
      ...(location ? { location } : {}),
      ...(servedBy ? { servedBy } : {}),
      // --fixed: the misconfiguration is gone, and with it the resets it caused; a logout stays.
      resetExpected: reset === undefined || (fixed && scenario.misconfiguration && reset !== 'logout') ? false : reset === 'logout' ? 'code' : reset,
      failures: checkExpectations(step.expect, { exchange, sessionUser, sessionIdBefore: sessionIdInJar, sessionIdAfter }),
    };
    // Behind nginx or HAProxy the balancer's record is read off the tap and the client.
    if (record.tap && !record.proxy) record.proxy = proxyRecordFromTap(record, record.tap);
    options.onRecord?.(record);
    counted();
    return { record, body: exchange.body };
  };

  /** One pass of one user through the scenario, with fresh browsers (jars). */
  const runPass = async (user: number, run: number): Promise<RequestRecord[]> => {
    const records: RequestRecord[] = [];
    const browsers = new Map<number, Promise<VirtualUser | ChromiumUser>>();
    const browserFor = (browser: number) => {
      let vu = browsers.get(browser);
      if (!vu) browsers.set(browser, (vu = chromium ? chromium.open() : Promise.resolve(new VirtualUser(dispatcherFor(user), policy))));
      return vu;
    };
    try {
      let previousBody: string | undefined;
      for (const { number, step, group } of steps) {
        if (options.signal?.aborted) break;
        if (step.wait !== undefined) {
          // The user's think time, part of the scenario (idle timeouts need it).
          await delay(step.wait, undefined, { signal: options.signal }).catch(() => undefined);
          continue;
        }
        // A group: concurrent requests of one user, each from the browser its step names.
        const batch = group ?? [{ number, step }];
        const sent = await Promise.all(
          batch.map(async (entry) => {
            const browser = entry.step.browser ?? 1;
            if (entry.step.startAfterMs) await delay(entry.step.startAfterMs, undefined, { signal: options.signal }).catch(() => undefined);
            return sendOne(await browserFor(browser), { user, run, browser }, entry.number, entry.step, previousBody);
          }),
        );
        for (const { record } of sent) records.push(record);
        // A black-box app answered "log in first": ask the backend that issued the id, right away, whether it still has it.
        if (cookieName && cluster.backends.length && sent.every(({ record }) => record.sessionStatus === undefined)) {
          await sendWitnesses(cluster, records, cookieName, blackBox, new Set(sent.map(({ record }) => record)));
        }
        previousBody = sent[sent.length - 1].body;
      }
    } finally {
      for (const vu of browsers.values()) void vu.then((b) => (b instanceof ChromiumUser ? b.close() : undefined)).catch(() => undefined);
    }
    return records;
  };

  const settle = async (records: RequestRecord[]) => {
    if (records.length === 0) return;
    const events = cluster.history.events.filter((e) => e.time >= started);
    tally.settle({ ...cluster.history, events }, records);
    if (out) await out.write(records.map((record) => ({ type: 'request', ...(redactor ? redactor.record(record) : record) })));
    else cluster.history.requests.push(...records);
  };

  // Passes in order (user 1..V for pass 1, then pass 2, …); a user's passes never overlap.
  const stop = () => options.signal?.aborted || Date.now() >= deadline || (options.maxRequests !== undefined && done >= options.maxRequests);
  let next = 0;
  const busy = new Map<number, Promise<void>>();
  const worker = async () => {
    while (!stop() && next < users * repeat) {
      const index = next++;
      const user = (index % users) + 1;
      const run = Math.floor(index / users) + 1;
      const previous = busy.get(user);
      const pass = (async () => {
        await previous;
        if (stop()) return;
        await settle(await runPass(user, run));
      })();
      busy.set(user, pass);
      await pass;
    }
  };
  try {
    // A Chromium profile per pass is heavy: a few at a time.
    await Promise.all(Array.from({ length: Math.min(chromium ? 4 : concurrency, users * repeat) }, worker));
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await Promise.all(firing);
    await Promise.all([...dispatchers.values()].map((dispatcher) => dispatcher.close()));
    await chromium?.stop();
  }

  const runEvents = cluster.history.events.filter((e) => e.time >= started);
  const events = runEvents.filter((e) => e.kind !== 'run-started');
  if (out) {
    await out.write(runEvents.map((event) => ({ type: 'event', ...event })));
    await out.close();
  }
  for (const message of faultErrors) tally.failure({ user: 0, run: 0, step: 0, request: '-', message: `fault: ${message}` });
  tally.sorted();
  const figures = tally.figures();
  const backendLogs = logExcerpts(figures.resets, tally.records, cluster.history.backendLog, {
    origin: started,
    cookieName: cookieName || cluster.options.session.cookieName,
    secretFields: scenario.secretFields,
  });
  const completed = plannedRequests === undefined || options.maxRequests !== undefined ? !options.signal?.aborted : tally.requests === plannedRequests;
  return {
    scenario: scenario.name,
    fixed,
    store: cluster.options.store,
    balancer: cluster.options.balancer,
    faults: [...cluster.options.faults, ...extraFaults],
    servers: cluster.backends.length,
    runtime: cluster.options.runtime,
    client: clientKind,
    cookieName: cookieName ?? cluster.options.session.cookieName,
    users,
    repeat: Math.ceil(tally.requests / Math.max(1, users * perRun)),
    ...figures,
    events,
    durationMs: Date.now() - started,
    startedAt: started,
    ...(cluster.options.seed === undefined ? {} : { seed: cluster.options.seed }),
    passed: tally.failuresTotal === 0 && completed,
    records: tally.records,
    ...(options.historyFile ? { historyFile: options.historyFile } : {}),
    ...(backendLogs.length ? { backendLogs } : {}),
  };
}

/** A scenario's `blackBox` block over the defaults. */
export function resolveBlackBox(given: Scenario['blackBox']): BlackBoxRules {
  const loginPath = given?.loginPath ?? BLACK_BOX_DEFAULTS.loginPath;
  return {
    loginPath,
    logoutPath: given?.logoutPath ?? BLACK_BOX_DEFAULTS.logoutPath,
    loginRequired: {
      status: given?.loginRequired?.status ?? BLACK_BOX_DEFAULTS.loginRequired.status,
      redirectTo: given?.loginRequired?.redirectTo ?? loginPath,
      ...(given?.loginRequired?.bodyContains ? { bodyContains: given.loginRequired.bodyContains } : {}),
    },
  };
}
