/**
 * session-lab's own driver under load, in its own thread: C loops, each a
 * virtual user with its own cookie jar, sending through undici as the
 * runner does. Bounded in time and in count.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Agent } from 'undici';
import { VirtualUser } from '../client/virtual-user.js';
import { loops, type LoadJob } from './load-worker.js';

async function drive(job: LoadJob) {
  const dispatcher = new Agent({ connections: job.connections, keepAliveTimeout: 10_000 });
  const target = new URL(job.path, job.url).toString();
  const result = await loops(job, () => {
    const user = new VirtualUser(dispatcher);
    return async () => {
      const exchange = await user.send({ method: 'GET', url: target });
      if (exchange.error) throw new Error(exchange.error);
      return exchange.status;
    };
  });
  await dispatcher.close();
  return result;
}

if (parentPort) {
  const port = parentPort;
  drive(workerData as LoadJob).then((result) => port.postMessage(result));
}
