/**
 * A load driver in its own thread, so it does not share an event loop with
 * the balancer it measures: C loops of plain undici requests. Bounded in
 * time and in count.
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

/** Runs `connections` loops of `send` until the time or the count runs out. `send` answers a status, or throws. */
export async function loops(job: LoadJob, makeSender: () => () => Promise<number>): Promise<LoadResult> {
  let requests = 0;
  let errors = 0;
  let non2xx = 0;
  const started = performance.now();
  const deadline = started + job.durationMs;
  const loop = async () => {
    const send = makeSender();
    while (performance.now() < deadline && requests + errors < job.maxRequests) {
      try {
        if ((await send()) >= 300) non2xx++;
        requests++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: job.connections }, loop));
  const elapsedMs = performance.now() - started;
  return { requests, errors, non2xx, elapsedMs, rps: (requests / elapsedMs) * 1000 };
}

async function drive(job: LoadJob): Promise<LoadResult> {
  const pool = new Pool(job.url, { connections: job.connections, keepAliveTimeout: 10_000 });
  const result = await loops(job, () => async () => {
    const response = await pool.request({ method: 'GET', path: job.path });
    await response.body.dump();
    return response.statusCode;
  });
  await pool.close();
  return result;
}

if (parentPort && (workerData as { driver?: string })?.driver === 'plain') {
  const port = parentPort;
  drive(workerData as LoadJob).then((result) => port.postMessage(result));
}
