/**
 * `npm run bench`: figures for the record, printed, never asserted.
 * Each comparison is measured side by side in one run, on this machine.
 *
 *   1. time until a cluster of 4 servers + balancer + Redis is ready
 *      (median of 7; target ≤ 300 ms)
 *   2. proxies side by side over the same backends: the balancer on each
 *      forwarding engine (recording on), HAProxy and nginx — req/s and CPU
 *      µs per request (targets: undici ≥ 0.6× HAProxy's req/s, ≤ 0.65×
 *      the http-proxy engine's CPU and ≤ 4× HAProxy's)
 *   3. session-lab's driver (a cookie jar per user) against autocannon on
 *      the same target (target ≥ 0.7× autocannon)
 *   4. peak memory of a 10 000-user × 100-request run, history streamed to
 *      disk (target ≤ 500 MB); `-- --quick` runs 1 000 users instead
 *   5. `npm test` wall time, with the load average (target ≤ 60 s idle)
 *
 *   6. session write+read throughput and p99, one Redis against Redis
 *      Cluster, same driver; 7. the Sentinel failover window
 *      (replicated-store.ts; sections `stores` and `failover`); 8. replica
 *      reads against WAIT and one Redis under a 50 ms replica lag
 *      (`read-your-writes`)
 *
 * `-- --only=proxies,suite` runs only those sections.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { startCluster } from '../cluster.js';
import { childExited, trackChild } from '../util/children.js';
import { PACKAGE_ROOT } from '../util/paths.js';
import { canReadCpu } from './cpu.js';
import type { LoadJob, LoadResult } from './load-worker.js';
import { formatProxies, measureProxies } from './proxies.js';
import { cliRunCpu, cliStartCpu, timeSuite } from './suite.js';
import { failoverWindow, readYourWrites, storeThroughput } from './replicated-store.js';

const READY_SAMPLES = 7;
const LOAD = { connections: 32, durationMs: 4000, maxRequests: 400_000 };
const quick = process.argv.includes('--quick');
const HEAP_CAP_MB = 256;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function inWorker(file: string, job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // load-worker.js is also imported by driver-worker.js; `driver` says which one runs.
    const worker = new Worker(new URL(file, import.meta.url), { workerData: { ...job, driver: file === './load-worker.js' ? 'plain' : 'jars' } });
    worker.once('message', (result: LoadResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

const rate = (r: LoadResult) => `${r.rps.toFixed(0)} req/s (${r.requests} requests, ${r.errors} errors)`;

async function readyTime(): Promise<void> {
  const samples: number[] = [];
  let source = '';
  for (let i = 0; i < READY_SAMPLES; i++) {
    const started = performance.now();
    const cluster = await startCluster({ servers: 4, store: 'redis' });
    samples.push(performance.now() - started);
    source = cluster.redis?.source ?? '';
    await cluster.stop();
  }
  console.log(
    `1. cluster ready (4 servers + balancer + Redis from ${source}): median ${median(samples).toFixed(0)} ms ` +
      `(min ${Math.min(...samples).toFixed(0)}, max ${Math.max(...samples).toFixed(0)}, n=${samples.length}; target ≤ 300 ms)`,
  );
}

const PROXY_REQUESTS = quick ? 10_000 : 30_000;
const PROXY_ROUNDS = quick ? 1 : 3;

async function balancer(): Promise<void> {
  // The backends only: each proxy under test gets their URLs. Backend logs
  // off, so the bench process does not parse four log streams meanwhile.
  const cluster = await startCluster({ servers: 4, store: 'memory', recordBackendLog: false });
  try {
    const loadBefore = loadavg()[0];
    const targets = cluster.backends.map((backend) => backend.url);
    const { figures, missing } = await measureProxies({
      targets,
      drive: (job) => inWorker('./load-worker.js', job),
      requests: PROXY_REQUESTS,
      rounds: PROXY_ROUNDS,
      connections: LOAD.connections,
    });
    console.log(
      `2. proxies side by side: 4 reference backends, GET /health, ${LOAD.connections} connections, ${PROXY_REQUESTS} requests per measurement, ` +
        `median of ${PROXY_ROUNDS} interleaved round${PROXY_ROUNDS > 1 ? 's' : ''}; CPU = the proxy process's utime + stime / requests; ` +
        // A loaded machine inflates every proxy's CPU per request (preemption, cold caches): the ratios are what compare.
        `load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after` +
        (canReadCpu() ? '' : ' (no /proc here: CPU not measured)'),
    );
    for (const line of formatProxies(figures, missing)) console.log(`   ${line}`);
  } finally {
    await cluster.stop();
  }
}

async function autocannon(url: string, connections: number, seconds: number): Promise<LoadResult> {
  const bin = join(PACKAGE_ROOT, 'node_modules', 'autocannon', 'autocannon.js');
  const child = spawn(process.execPath, [bin, '-c', String(connections), '-d', String(seconds), '--json', url], { stdio: ['ignore', 'pipe', 'ignore'] });
  trackChild(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  await childExited(child);
  const report = JSON.parse(out) as { requests: { total: number; average: number }; errors: number; non2xx: number; duration: number };
  return { requests: report.requests.total, errors: report.errors, non2xx: report.non2xx, elapsedMs: report.duration * 1000, rps: report.requests.total / report.duration };
}

async function driver(): Promise<void> {
  const cluster = await startCluster({ servers: 1, store: 'memory', recordBackendLog: false });
  try {
    const target = `${cluster.backends[0].url}/health`;
    const theirs = await autocannon(target, LOAD.connections, LOAD.durationMs / 1000);
    const ours = await inWorker('./driver-worker.js', { url: cluster.backends[0].url, path: '/health', ...LOAD });
    console.log(`3. autocannon, ${LOAD.connections} connections:             ${rate(theirs)}`);
    console.log(`   session-lab driver, ${LOAD.connections} users with jars:    ${rate(ours)} = ${(ours.rps / theirs.rps).toFixed(2)}× autocannon (target ≥ 0.7)`);
  } finally {
    await cluster.stop();
  }
}

async function memory(): Promise<void> {
  const users = quick ? 1000 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'slab-bench-'));
  const scenario = join(dir, 'hundred-requests.yaml');
  writeFileSync(
    scenario,
    'name: hundred-requests\ndescription: land, log in, then 98 views of the drafts page\nsteps:\n' +
      '  - { method: GET, path: / }\n  - { method: POST, path: /login, json: { user: alice, password: alice-pw } }\n  - { method: GET, path: /drafts, repeat: 98 }\n',
  );
  const cli = join(PACKAGE_ROOT, 'dist', 'harness', 'cli', 'bundle', 'main.js');
  const history = join(dir, 'history.jsonl');
  const started = performance.now();
  // The live set of a streamed run is flat; without a cap V8 lets garbage
  // pile up to hundreds of MB before it collects. With the cap, finishing
  // at all proves the run fits.
  const args = [`--max-old-space-size=${HEAP_CAP_MB}`, cli, 'run', scenario, '--users', String(users), '--store', 'memory', '--balancer', 'sticky', '--servers', '2', '--history', history, '--json'];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  trackChild(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  // VmHWM is the process's peak resident set so far: the last reading before exit is the peak.
  let peakKb = 0;
  const sample = () => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (match) peakKb = Math.max(peakKb, Number(match[1]));
    } catch {
      // exited
    }
  };
  const timer = setInterval(sample, 100);
  await childExited(child);
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  const report = JSON.parse(out) as { requests: number; resetsTotal: number };
  console.log(
    `4. ${users} users × 100 requests (${report.requests} requests in ${seconds.toFixed(0)} s, memory store, sticky, history streamed to disk, ` +
      `node --max-old-space-size=${HEAP_CAP_MB}): harness peak RSS ${(peakKb / 1024).toFixed(0)} MB (target ≤ 500 MB)` +
      `${quick ? ' — quick run; npm run bench without --quick for 10 000 users' : ''}`,
  );
  rmSync(dir, { recursive: true, force: true });
}

async function suite(): Promise<void> {
  const cli = await cliStartCpu();
  if (cli) {
    console.log(
      `5. CLI start, bad input: ${cli.badInputMs.toFixed(0)} ms CPU (user + sys) per \`session-lab run ../package\`, mean of ${cli.runs}; a bare \`node -e 0\`: ${cli.bareNodeMs.toFixed(0)} ms`,
    );
  }
  const run = await cliRunCpu();
  if (run) {
    console.log(
      `5. CLI run, good input: ${run.ownMs.toFixed(0)} ms CPU in the CLI process, ${run.withChildrenMs.toFixed(0)} ms with its children (backends), per \`session-lab run login-browse\` (3 servers, 6 requests), mean of ${run.runs}`,
    );
  }
  const timing = await timeSuite();
  console.log(
    `5. npm test (build + vitest): ${timing.seconds.toFixed(1)} s wall${timing.cpuSeconds === undefined ? '' : `, ${timing.cpuSeconds.toFixed(1)} s of CPU (user + sys)`}, ${timing.passed ? 'passed' : 'FAILED'} (${timing.summary || 'no summary'}); ` +
      `load average ${timing.loadBefore.toFixed(1)} before, ${timing.loadAfter.toFixed(1)} after on ${cpus().length} cores (target ≤ 60 s on an idle machine)`,
  );
}

// `-- --only=proxies,suite` runs some sections; `-- --no-suite` skips the test suite's timing.
const SECTIONS = { ready: readyTime, proxies: balancer, driver, memory, suite, stores: storeThroughput, failover: failoverWindow, 'read-your-writes': readYourWrites } as const;
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
for (const name of only ?? []) {
  if (!(name in SECTIONS)) {
    console.error(`session-lab bench: --only: expected names from ${Object.keys(SECTIONS).join(', ')}, got ${JSON.stringify(name)}`);
    process.exit(2);
  }
}
const skipped = (name: string) => (only ? !only.includes(name) : name === 'suite' && process.argv.includes('--no-suite'));

console.log(`session-lab bench — node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}${quick ? ', quick' : ''}`);
for (const [name, run] of Object.entries(SECTIONS)) if (!skipped(name)) await run();
