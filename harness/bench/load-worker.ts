/**
 * A load driver in its own thread, so it does not share an event loop with
 * the balancer it measures. Bounded in time and in count.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'undici';

export interface LoadJob {
  url: string;
  path: string;
  connections: number;
  durationMs: number;
  maxRequests: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  non2xx: number;
  elapsedMs: number;
  rps: number;
}

async function drive({ url, path, connections, durationMs, maxRequests }: LoadJob): Promise<LoadResult> {
  const pool = new Pool(url, { connections, keepAliveTimeout: 10_000 });
  let requests = 0;
  let errors = 0;
  let non2xx = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const loop = async () => {
    while (performance.now() < deadline && requests + errors < maxRequests) {
      try {
        const response = await pool.request({ method: 'GET', path });
        await response.body.dump();
        if (response.statusCode >= 300) non2xx++;
        requests++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsedMs = performance.now() - started;
  await pool.close();
  return { requests, errors, non2xx, elapsedMs, rps: (requests / elapsedMs) * 1000 };
}

if (parentPort) {
  const port = parentPort;
  drive(workerData as LoadJob).then((result) => port.postMessage(result));
}
