/**
 * Runs a scenario against a started cluster: V virtual users × R
 * repetitions, users concurrent (bounded), each user's steps in order.
 * Every request becomes one history record joining the client's view with
 * the balancer's and the backend's; then the diagnosis reads the history.
 */
import { randomBytes } from 'node:crypto';
import { parseCookie } from 'cookie';
import { Agent } from 'undici';
import { REQUEST_ID_HEADER, type ProxyRecord } from '../balancer/proxy.js';
import { VirtualUser } from '../client/virtual-user.js';
import type { StartedCluster } from '../cluster.js';
import { countByCause, diagnose, type ResetCause, type Verdict } from '../diagnosis/diagnose.js';
import { HarnessError } from '../errors.js';
import type { RequestRecord } from '../history/history.js';
import type { Scenario, ScenarioStep } from '../scenario/schema.js';
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
}

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
  store: string;
  balancer: string;
  servers: number;
  users: number;
  repeat: number;
  requests: number;
  /** Requests that got no response. */
  errors: number;
  resets: Verdict[];
  resetsByCause: Record<ResetCause, number>;
  failures: ExpectationFailure[];
  requestsPerBackend: Record<string, number>;
  latencyMs: { p50: number; p95: number; p99: number };
  durationMs: number;
  passed: boolean;
  /** This run's records, also in cluster.history. */
  records: RequestRecord[];
}

interface PlannedStep {
  number: number;
  step: ScenarioStep;
}

function expandSteps(scenario: Scenario): PlannedStep[] {
  const planned: PlannedStep[] = [];
  for (const step of scenario.steps) {
    for (let i = 0; i < (step.repeat ?? 1); i++) planned.push({ number: planned.length + 1, step });
  }
  return planned;
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

export async function runScenario(cluster: StartedCluster, scenario: Scenario, options: RunOptions = {}): Promise<RunResult> {
  const users = positiveInteger('users', options.users ?? RUN_DEFAULTS.users);
  const repeat = positiveInteger('repeat', options.repeat ?? RUN_DEFAULTS.repeat);
  const concurrency = positiveInteger('concurrency', options.concurrency ?? RUN_DEFAULTS.concurrency);
  const steps = expandSteps(scenario);
  const cookieName = cluster.options.cookieName;
  const runId = randomBytes(3).toString('hex');
  const total = users * repeat * steps.length;
  const records: RequestRecord[] = [];
  const dispatcher = new Agent({ connections: 256, keepAliveTimeout: 10_000 });
  const started = Date.now();
  let done = 0;

  const runUser = async (user: number) => {
    for (let run = 1; run <= repeat; run++) {
      const client = new VirtualUser(dispatcher);
      for (const { number, step } of steps) {
        if (options.signal?.aborted) return;
        const requestId = `${runId}.${user}.${run}.${number}`;
        const headers: Record<string, string> = { ...step.headers, [REQUEST_ID_HEADER]: requestId };
        let body = step.body;
        if (step.json !== undefined) {
          body = JSON.stringify(step.json);
          headers['content-type'] ??= 'application/json';
        }
        const url = new URL(step.path, cluster.url).toString();
        const sessionIdInJar = client.cookieValue(cookieName);
        const time = Date.now();
        const exchange = await client.send({ method: step.method, url, headers, body });
        const sessionIdAfter = client.cookieValue(cookieName);
        const sessionUser = header(exchange.headers, 'x-session-user');
        const record: RequestRecord = {
          user,
          run,
          step: number,
          stepName: step.name ?? `${step.method} ${step.path}`,
          method: step.method,
          path: step.path,
          url,
          requestId,
          time,
          durationMs: exchange.durationMs,
          cookieSent: exchange.cookieSent,
          sessionIdSent: exchange.cookieSent ? parseCookie(exchange.cookieSent)[cookieName] : undefined,
          sessionIdInJar,
          status: exchange.status,
          setCookie: exchange.setCookie,
          sessionIdAfter,
          jarAfter: client.contents(),
          error: exchange.error,
          backend: header(exchange.headers, 'x-backend'),
          sessionStatus: header(exchange.headers, 'x-session-status'),
          sessionUser,
          proxy: undefined,
          resetExpected: step.expect?.reset === true,
          failures: checkExpectations(step.expect, { exchange, sessionUser, sessionIdBefore: sessionIdInJar, sessionIdAfter }),
        };
        records.push(record);
        cluster.history.requests.push(record);
        options.onProgress?.(++done, total);
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
    await dispatcher.close();
  }

  // Join the balancer's records by request id.
  const proxyById = new Map<string, ProxyRecord>();
  for (const proxyRecord of cluster.history.proxy) if (proxyRecord.requestId?.startsWith(runId)) proxyById.set(proxyRecord.requestId, proxyRecord);
  for (const record of records) record.proxy = proxyById.get(record.requestId);

  const resets = diagnose({ ...cluster.history, requests: records });
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
  for (const verdict of resets) {
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
  failures.sort((a, b) => a.user - b.user || a.run - b.run || a.step - b.step);

  const requestsPerBackend: Record<string, number> = Object.fromEntries(cluster.backends.map((b) => [b.name, 0]));
  for (const record of records) if (record.backend) requestsPerBackend[record.backend] = (requestsPerBackend[record.backend] ?? 0) + 1;
  const latencies = records.filter((r) => !r.error).map((r) => r.durationMs).sort((a, b) => a - b);

  return {
    scenario: scenario.name,
    store: cluster.options.store,
    balancer: cluster.options.balancer,
    servers: cluster.backends.length,
    users,
    repeat,
    requests: records.length,
    errors: records.filter((r) => r.error).length,
    resets,
    resetsByCause: countByCause(resets),
    failures,
    requestsPerBackend,
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) },
    durationMs: Date.now() - started,
    passed: failures.length === 0 && records.length === total,
    records,
  };
}
