/**
 * The session-lab balancer alone in a process, for `npm run bench`: so the
 * CPU it spends per request can be read from its own utime + stime, as for
 * HAProxy and nginx. Recording is on, kept as a cluster keeps it (every
 * record in a list). Started with fork(); exits when its parent's IPC
 * channel closes.
 *
 *   node balancer-child.js '{"engine":"undici","targets":["http://127.0.0.1:PORT",…]}'
 */
import { startBalancer, type ProxyRecord } from '../balancer/proxy.js';
import type { EngineName } from '../balancer/engine/engine.js';
import { createStrategy } from '../balancer/strategies.js';

const { engine, targets } = JSON.parse(process.argv[2] ?? '{}') as { engine: EngineName; targets: string[] };
const records: ProxyRecord[] = [];
const balancer = await startBalancer({
  engine,
  targets: targets.map((url, index) => ({ name: `app-${index + 1}`, url, index, up: true, inFlight: 0 })),
  strategy: createStrategy('round-robin'),
  onRecord: (record) => records.push(record),
});
process.on('message', (message: string) => {
  if (message === 'records') process.send?.({ records: records.length });
});
process.once('disconnect', () => void balancer.stop().then(() => process.exit(0)));
process.send?.({ url: balancer.url });
