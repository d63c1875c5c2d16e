/**
 * `npm run bench`: figures for the record, printed, never asserted.
 * Each comparison is measured side by side in one run, on this machine.
 *
 *   1. time until a cluster of 4 servers + balancer + Redis is ready
 *      (median of 7; target ≤ 300 ms)
 *   2. balancer req/s with recording on, against HAProxy round-robin over
 *      the same backends and against one backend directly, all driven by
 *      the same load driver (target ≥ 0.5× HAProxy)
 *   3. session-lab's driver (a cookie jar per user) against autocannon on
 *      the same target (target ≥ 0.7× autocannon)
 *   4. peak memory of a 10 000-user × 100-request run, history streamed to
 *      disk (target ≤ 500 MB); `-- --quick` runs 1 000 users instead
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { startCluster, type StartedCluster } from '../cluster.js';
import { freePort } from '../util/net.js';
import { childExited, stopChild, trackChild } from '../util/children.js';
import { findOnPath, PACKAGE_ROOT } from '../util/paths.js';
import { pollUntil } from '../util/wait.js';
import type { LoadJob, LoadResult } from './load-worker.js';

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

/** HAProxy round-robin over the cluster's backends, on a free port; stopped by the caller. */
async function startHaproxy(cluster: StartedCluster): Promise<{ url: string; child: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'slab-haproxy-'));
  const servers = cluster.backends.map((b) => `    server ${b.name} ${new URL(b.url).host}`).join('\n');
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `global\n    maxconn 4096\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n    http-reuse always\n` +
      `frontend front\n    bind 127.0.0.1:${port}\n    default_backend apps\nbackend apps\n    balance roundrobin\n${servers}\n`,
  );
  const child = spawn('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  trackChild(child);
  const url = `http://127.0.0.1:${port}`;
  await pollUntil(async () => ((await fetch(`${url}/health`).catch(() => undefined))?.ok ? true : undefined), { what: 'haproxy' });
  return { url, child, dir };
}

async function balancer(): Promise<void> {
  // Backend logs off: this measures the balancer and its recording, not the
  // harness parsing four processes' log streams.
  const cluster = await startCluster({ servers: 4, store: 'memory', recordBackendLog: false });
  try {
    const direct = await inWorker('./load-worker.js', { url: cluster.backends[0].url, path: '/health', ...LOAD });
    const before = cluster.history.proxy.length;
    const ours = await inWorker('./load-worker.js', { url: cluster.url, path: '/health', ...LOAD });
    const recorded = cluster.history.proxy.length - before;
    console.log(`2. direct to one backend:               ${rate(direct)}`);
    console.log(`   session-lab balancer, recording on:   ${rate(ours)}, ${recorded} records = ${(ours.rps / direct.rps).toFixed(2)}× direct`);
    if (!findOnPath('haproxy')) {
      console.log('   HAProxy: not measured, haproxy is not on PATH (apt-get install haproxy; .ci/run installs it)');
      return;
    }
    const haproxy = await startHaproxy(cluster);
    try {
      const theirs = await inWorker('./load-worker.js', { url: haproxy.url, path: '/health', ...LOAD });
      console.log(`   HAProxy round-robin, same backends:  ${rate(theirs)}`);
      console.log(`   session-lab balancer / HAProxy = ${(ours.rps / theirs.rps).toFixed(2)} (target ≥ 0.5)`);
    } finally {
      await stopChild(haproxy.child, 1000);
      rmSync(haproxy.dir, { recursive: true, force: true });
    }
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
  const cli = join(PACKAGE_ROOT, 'dist', 'harness', 'cli', 'main.js');
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

console.log(`session-lab bench — node ${process.version}, ${cpus().length} cores${quick ? ', quick' : ''}`);
await readyTime();
await balancer();
await driver();
await memory();
