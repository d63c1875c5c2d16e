/**
 * A run's results, settled one user's run at a time: as soon as a user has
 * finished a pass through the scenario, its records are diagnosed, checked
 * and counted, and — on a long run streaming its history to disk —
 * dropped. So memory stays flat however many requests a run makes.
 */
import { checkConsistency, type Anomaly } from '../consistency/check.js';
import { countByCause, diagnose, sessionsPerPerson, type PersonSessions, type ResetCause, type Verdict } from '../diagnosis/diagnose.js';
import type { History, RequestRecord } from '../history/history.js';

export interface ExpectationFailure {
  user: number;
  run: number;
  step: number;
  request: string;
  message: string;
}

/** Most verdicts, anomalies and failures a result keeps in full; beyond, they are counted. */
export const KEEP_AT_MOST = 10_000;
/** Sequences kept for the report when records are not kept (the first ones with resets or failed requests). */
const EXAMPLE_SEQUENCES = 50;

/** A growable array of numbers, for latencies without a JS object each. */
class Samples {
  #values = new Float64Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.length++] = value;
  }

  percentiles(...ps: number[]): number[] {
    const sorted = this.#values.slice(0, this.length).sort();
    return ps.map((p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0));
  }
}

export class Tally {
  readonly resets: Verdict[] = [];
  readonly resetsByCause: Record<ResetCause, number> = countByCause([]);
  resetsTotal = 0;
  readonly anomalies: Anomaly[] = [];
  anomaliesTotal = 0;
  readonly failures: ExpectationFailure[] = [];
  failuresTotal = 0;
  readonly people: PersonSessions[] = [];
  readonly requestsPerBackend: Record<string, number>;
  readonly records: RequestRecord[] = [];
  requests = 0;
  errors = 0;
  readonly #latencies = new Samples();
  readonly #keepRecords: boolean;
  #exampleSequences = 0;

  constructor(backends: readonly string[], keepRecords: boolean) {
    this.requestsPerBackend = Object.fromEntries(backends.map((name) => [name, 0]));
    this.#keepRecords = keepRecords;
  }

  #fail(failure: ExpectationFailure): void {
    this.failuresTotal++;
    if (this.failures.length < KEEP_AT_MOST) this.failures.push(failure);
  }

  /** Settles one user's run (all its browsers): diagnosis, consistency, expectations, counts. */
  settle(history: Pick<History, 'topology' | 'events' | 'backendLog' | 'proxy'>, records: RequestRecord[]): { resets: Verdict[] } {
    const slice: History = { ...history, requests: records };
    const resets = diagnose(slice);
    const anomalies = checkConsistency(slice);

    for (const verdict of resets) {
      this.resetsTotal++;
      this.resetsByCause[verdict.cause]++;
      if (this.resets.length < KEEP_AT_MOST) this.resets.push(verdict);
    }
    for (const anomaly of anomalies) {
      this.anomaliesTotal++;
      if (this.anomalies.length < KEEP_AT_MOST) this.anomalies.push(anomaly);
    }
    this.people.push(...sessionsPerPerson(slice));

    const resetAt = new Map(resets.map((v) => [`${v.browser}/${v.step}`, v]));
    for (const record of records) {
      this.requests++;
      if (record.error || record.status >= 500) this.errors++;
      else this.#latencies.push(record.durationMs);
      if (record.backend) this.requestsPerBackend[record.backend] = (this.requestsPerBackend[record.backend] ?? 0) + 1;
      const where = { user: record.user, run: record.run, step: record.step, request: `${record.method} ${record.path}` };
      for (const message of record.failures) this.#fail({ ...where, message });
      const verdict = resetAt.get(`${record.browser}/${record.step}`);
      if (record.resetExpected && !verdict) this.#fail({ ...where, message: 'reset: expected a session reset here, none happened' });
      if (verdict && typeof record.resetExpected === 'string' && verdict.cause !== record.resetExpected) {
        this.#fail({ ...where, message: `reset: expected cause ${record.resetExpected}, diagnosed ${verdict.cause}` });
      }
      if (verdict && !verdict.expected) this.#fail({ ...where, message: `reset: unexpected session reset (cause ${verdict.cause})` });
    }
    for (const anomaly of anomalies) {
      const first = anomaly.sequence[0];
      this.#fail({ user: anomaly.user, run: anomaly.run, step: first?.step ?? 0, request: first?.request ?? '-', message: `consistency: ${anomaly.kind} — ${anomaly.evidence}` });
    }

    if (this.#keepRecords) this.records.push(...records);
    else if ((resets.length || records.some((r) => r.error || r.status >= 500)) && this.#exampleSequences < EXAMPLE_SEQUENCES) {
      // Enough to show what each hop saw for the first resets and failed requests.
      this.#exampleSequences++;
      this.records.push(...records);
    }
    return { resets };
  }

  failure(failure: ExpectationFailure): void {
    this.#fail(failure);
  }

  /** What a RunResult reports of the tally, whether it came from a run or a history file. */
  figures() {
    return {
      requests: this.requests,
      errors: this.errors,
      resets: this.resets,
      resetsTotal: this.resetsTotal,
      resetsByCause: this.resetsByCause,
      anomalies: this.anomalies,
      anomaliesTotal: this.anomaliesTotal,
      people: this.people,
      failures: this.failures,
      failuresTotal: this.failuresTotal,
      requestsPerBackend: this.requestsPerBackend,
      latencyMs: this.latency(),
    };
  }

  latency(): { p50: number; p95: number; p99: number } {
    const [p50, p95, p99] = this.#latencies.percentiles(50, 95, 99);
    return { p50, p95, p99 };
  }

  sorted(): void {
    const order = (a: { user: number; run: number; step: number }, b: { user: number; run: number; step: number }) => a.user - b.user || a.run - b.run || a.step - b.step;
    this.resets.sort(order);
    this.failures.sort(order);
    this.people.sort((a, b) => a.user - b.user || a.run - b.run);
  }
}
