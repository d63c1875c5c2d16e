/**
 * `npm run bench`: figures for the record, printed, never asserted.
 *
 *   1. time until a cluster of 4 servers + balancer + Redis is ready
 *      (median of 7 starts; target ≤ 300 ms)
 *   2. balancer req/s with recording on, against req/s straight to one
 *      backend, measured by the same driver in the same run
 */
import { Worker } from 'node:worker_threads';
import { startCluster } from '../cluster.js';
import type { LoadJob, LoadResult } from './load-worker.js';

const READY_SAMPLES = 7;
const LOAD = { connections: 32, durationMs: 4000, maxRequests: 400_000 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: job });
    worker.once('message', (result: LoadResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

async function readyTime(): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < READY_SAMPLES; i++) {
    const started = performance.now();
    const cluster = await startCluster({ servers: 4, store: 'redis' });
    samples.push(performance.now() - started);
    if (i === 0) console.log(`  (Redis from ${cluster.redis?.source})`);
    await cluster.stop();
  }
  console.log(
    `cluster ready (4 servers + balancer + Redis): median ${median(samples).toFixed(0)} ms ` +
      `(min ${Math.min(...samples).toFixed(0)}, max ${Math.max(...samples).toFixed(0)}, n=${samples.length}; target ≤ 300 ms)`,
  );
}

async function throughput(): Promise<void> {
  // Backend logs off: this measures the balancer and its recording, not
  // the harness parsing four processes' log streams.
  const cluster = await startCluster({ servers: 4, store: 'memory', recordBackendLog: false });
  try {
    const direct = await runLoad({ url: cluster.backends[0].url, path: '/health', ...LOAD });
    const before = cluster.history.proxy.length;
    const balanced = await runLoad({ url: cluster.url, path: '/health', ...LOAD });
    const recorded = cluster.history.proxy.length - before;
    console.log(`direct to one backend:          ${direct.rps.toFixed(0)} req/s (${direct.requests} requests, ${direct.errors} errors)`);
    console.log(
      `through the balancer, recording: ${balanced.rps.toFixed(0)} req/s (${balanced.requests} requests, ${balanced.errors} errors, ${recorded} records) ` +
        `= ${(balanced.rps / direct.rps).toFixed(2)}× direct`,
    );
  } finally {
    await cluster.stop();
  }
}

console.log(`session-lab bench — node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
await readyTime();
await throughput();
