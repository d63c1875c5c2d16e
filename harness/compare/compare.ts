/**
 * Architecture comparison: one scenario on every combination of store,
 * balancer and fault, each on a fresh cluster of real processes, one row
 * per combination with the figures that decide between them.
 */
import type { EngineName } from '../balancer/engine/engine.js';
import type { FrontName } from '../balancer/front.js';
import type { Runtime } from '../backend/runtime.js';
import type { AppCommand } from '../backend/command-launcher.js';
import { startCluster as defaultStartCluster, type ClusterOptions, type StartedCluster, type StoreKind } from '../cluster.js';
import { countAnomalies, type AnomalyKind } from '../consistency/check.js';
import type { ResetCause } from '../diagnosis/diagnose.js';
import { HarnessError } from '../errors.js';
import { runScenario } from '../runner/run.js';
import { planRun } from '../scenario/plan.js';
import { table } from '../util/table.js';
import { newSeed } from '../util/seeded.js';
import { isRealBalancer } from '../balancer/real-front.js';
import type { Scenario } from '../scenario/schema.js';
import type { CompareFormat } from './formats.js';

export interface CompareOptions {
  stores: StoreKind[];
  balancers: FrontName[];
  /** Fault specs, `none` for a run without one. */
  faults: string[];
  servers?: number;
  /** Where the app servers (and a Redis session-lab starts) run: `process` (default) or `docker`. */
  runtime?: Runtime;
  /** The balancer's forwarding engine for every combination (default undici). */
  proxyEngine?: EngineName;
  /** Virtual users per combination (default 10). */
  users?: number;
  /** Requests per combination, at least (default: one run of the scenario per user). */
  requests?: number;
  /** Leave the scenario's misconfiguration out. */
  fixed?: boolean;
  /** Run this app (a command, e.g. the Express server) on every row instead of the reference server. */
  app?: AppCommand;
  /**
   * Every row's balancer draws from this seed (drawn at random when not
   * given; each row reports it), so the comparison replays. nginx and
   * HAProxy rows choose for themselves and carry no seed.
   */
  seed?: number;
  signal?: AbortSignal;
  /** Called as each row is ready (for progress). */
  onRow?: (row: CompareRow) => void;
  onStart?: (label: string) => void;
  /** How clusters are started (the CLI passes one that it can stop on Ctrl-C). */
  withCluster?: <T>(options: ClusterOptions, use: (cluster: StartedCluster) => Promise<T>) => Promise<T>;
}

export interface CompareRow {
  store: StoreKind;
  balancer: FrontName;
  fault: string;
  requests: number;
  /** Total resets the scenario did not expect (a logout it asks for is not counted). */
  resets: number;
  resetsByCause: Record<ResetCause, number>;
  anomalies: number;
  anomaliesByKind: Record<AnomalyKind, number>;
  /** Requests with no response or a 5xx. */
  errors: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  rps: number;
  /** The backend a backend fault hit, and the users whose last request before it went there. */
  faultTarget?: string;
  usersOnFaultTarget?: number[];
  /** Users with at least one unexpected reset. */
  usersReset: number[];
  /** The seed the row's balancer drew from; absent for nginx and HAProxy. */
  seed?: number;
}

async function defaultWithCluster<T>(options: ClusterOptions, use: (cluster: StartedCluster) => Promise<T>): Promise<T> {
  const cluster = await defaultStartCluster(options);
  try {
    return await use(cluster);
  } finally {
    await cluster.stop();
  }
}

export async function compare(scenario: Scenario, options: CompareOptions): Promise<CompareRow[]> {
  const users = options.users ?? 10;
  if (!options.stores.length || !options.balancers.length || !options.faults.length) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', 'compare: expected at least one store, one balancer and one fault (or none)');
  }
  const withCluster = options.withCluster ?? defaultWithCluster;
  const seed = options.seed ?? newSeed();
  const rows: CompareRow[] = [];
  for (const store of options.stores) {
    for (const balancer of options.balancers) {
      for (const fault of options.faults) {
        if (options.signal?.aborted) return rows;
        options.onStart?.(`${store} + ${balancer} + ${fault}`);
        const plan = planRun(scenario, {
          fixed: options.fixed,
          cluster: {
            store,
            balancer,
            servers: options.servers,
            runtime: options.runtime,
            proxyEngine: options.proxyEngine,
            ...(options.app ? { app: options.app } : {}),
            ...(isRealBalancer(balancer) ? {} : { seed }),
          },
          faults: fault === 'none' ? [] : [fault],
        });
        const row = await withCluster(plan.cluster, async (cluster) => {
          const perRun = scenario.steps.reduce((n, s) => n + (s.wait !== undefined ? 0 : (s.together?.length ?? 1) * (s.repeat ?? 1)), 0);
          const repeat = options.requests ? Math.max(1, Math.ceil(options.requests / (users * Math.max(1, perRun)))) : 1;
          const result = await runScenario(cluster, scenario, { users, repeat, client: plan.client, fixed: plan.fixed, signal: options.signal });
          const unexpected = result.resets.filter((v) => !v.expected);
          const resetsByCause = Object.fromEntries(Object.keys(result.resetsByCause).map((cause) => [cause, 0])) as Record<ResetCause, number>;
          for (const v of unexpected) resetsByCause[v.cause]++;

          // Who was on the backend a fault hit: each user's last backend before the fault.
          const hit = result.events.find((e) => e.backend && e.kind !== 'backend-undrained');
          let usersOnFaultTarget: number[] | undefined;
          if (hit) {
            const last = new Map<number, string | undefined>();
            for (const r of [...result.records].sort((a, b) => a.time - b.time)) if (r.time + r.durationMs <= hit.time) last.set(r.user, r.backend);
            usersOnFaultTarget = [...last]
              .filter(([, backend]) => backend === hit.backend)
              .map(([user]) => user)
              .sort((a, b) => a - b);
          }
          const row: CompareRow = {
            store,
            balancer,
            fault,
            requests: result.requests,
            resets: unexpected.length,
            resetsByCause,
            anomalies: result.anomaliesTotal,
            anomaliesByKind: countAnomalies(result.anomalies),
            errors: result.errors,
            p50Ms: round(result.latencyMs.p50),
            p95Ms: round(result.latencyMs.p95),
            p99Ms: round(result.latencyMs.p99),
            rps: round((result.requests / Math.max(1, result.durationMs)) * 1000),
            ...(hit ? { faultTarget: hit.backend, usersOnFaultTarget } : {}),
            usersReset: [...new Set(unexpected.map((v) => v.user))].sort((a, b) => a - b),
            ...(result.seed === undefined ? {} : { seed: result.seed }),
          };
          return row;
        });
        rows.push(row);
        options.onRow?.(row);
      }
    }
  }
  return rows;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

export { COMPARE_FORMATS, type CompareFormat } from './formats.js';

const COLUMNS: { title: string; value: (row: CompareRow) => string | number; right?: boolean }[] = [
  { title: 'store', value: (r) => r.store },
  { title: 'balancer', value: (r) => r.balancer },
  { title: 'fault', value: (r) => r.fault },
  { title: 'requests', value: (r) => r.requests, right: true },
  { title: 'resets', value: (r) => r.resets, right: true },
  {
    title: 'by cause',
    value: (r) =>
      Object.entries(r.resetsByCause)
        .filter(([, n]) => n > 0)
        .map(([cause, n]) => `${cause} ${n}`)
        .join(', ') || '-',
  },
  { title: 'anomalies', value: (r) => r.anomalies, right: true },
  { title: 'errors', value: (r) => r.errors, right: true },
  { title: 'p50 ms', value: (r) => r.p50Ms.toFixed(1), right: true },
  { title: 'p95 ms', value: (r) => r.p95Ms.toFixed(1), right: true },
  { title: 'p99 ms', value: (r) => r.p99Ms.toFixed(1), right: true },
  { title: 'req/s', value: (r) => r.rps.toFixed(0), right: true },
];

function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function formatComparison(rows: CompareRow[], format: CompareFormat): string {
  if (format === 'json') return JSON.stringify(rows, null, 2);
  const cells = rows.map((row) => COLUMNS.map((column) => String(column.value(row))));
  if (format === 'csv') {
    const header = [
      'store',
      'balancer',
      'fault',
      'requests',
      'resets',
      ...Object.keys(rows[0]?.resetsByCause ?? {}).map((c) => `resets_${c}`),
      'anomalies',
      'errors',
      'p50_ms',
      'p95_ms',
      'p99_ms',
      'rps',
    ];
    const lines = rows.map((r) =>
      [r.store, r.balancer, r.fault, r.requests, r.resets, ...Object.values(r.resetsByCause), r.anomalies, r.errors, r.p50Ms, r.p95Ms, r.p99Ms, r.rps].map(csvCell).join(','),
    );
    return [header.join(','), ...lines].join('\n');
  }
  if (format === 'markdown') {
    const header = `| ${COLUMNS.map((c) => c.title).join(' | ')} |`;
    const rule = `| ${COLUMNS.map((c) => (c.right ? '---:' : '---')).join(' | ')} |`;
    return [header, rule, ...cells.map((row) => `| ${row.join(' | ')} |`)].join('\n');
  }
  return table(
    COLUMNS.map((c) => c.title),
    cells,
    COLUMNS.map((c) => c.right ?? false),
  );
}
