/**
 * Bench figures for the replicated stores (issue 9), printed, not asserted:
 *
 *   6. session write+read throughput and p99 per operation on one Redis
 *      against Redis Cluster (3 primaries), from the same driver: C loops,
 *      each writing a session record and reading it back, for a few seconds;
 *   7. the failover window on Sentinel: a loop of session writes while the
 *      primary is killed — how long until writes succeed again, how many
 *      failed, and how many acknowledged ones the promoted replica lacks;
 *   8. the read-your-writes fix: `compare` of login-browse on replica reads,
 *      replica reads with WAIT, and one Redis, under replica-lag=50ms —
 *      resets and latency side by side (how many resets depends on how
 *      often a read follows its write within 50 ms on this machine).
 */
import { randomBytes } from 'node:crypto';
import { compare, formatComparison } from '../compare/compare.js';
import { provisionRedis } from '../redis/provision.js';
import { loadScenario } from '../scenario/load.js';
import { provisionReplicatedStore } from '../store/replicated-store.js';
import { RedisStore } from '../../servers/session/redis-store.js';
import { ReplicatedRedisStore } from '../../servers/session/replicated-redis-store.js';
import type { SessionStore } from '../../servers/session/store.js';

const LOOPS = 32;
const DURATION_MS = 3000;

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
}

/** C loops of write-then-read on fresh session ids, for DURATION_MS. */
async function drive(store: SessionStore): Promise<{ opsPerSecond: number; writeP99: number; readP99: number }> {
  const writes: number[] = [];
  const reads: number[] = [];
  const end = Date.now() + DURATION_MS;
  const record = { createdAt: Date.now(), lastSeenAt: Date.now(), user: 'alice', data: { cart: [{ sku: 'book-1', qty: 1 }] } };
  await Promise.all(
    Array.from({ length: LOOPS }, async () => {
      while (Date.now() < end) {
        const id = randomBytes(16).toString('base64url');
        let t = performance.now();
        await store.set(id, record, 60_000);
        writes.push(performance.now() - t);
        t = performance.now();
        await store.get(id);
        reads.push(performance.now() - t);
      }
    }),
  );
  return { opsPerSecond: ((writes.length + reads.length) / DURATION_MS) * 1000, writeP99: p99(writes), readP99: p99(reads) };
}

const figures = (r: { opsPerSecond: number; writeP99: number; readP99: number }) => `${r.opsPerSecond.toFixed(0)} ops/s, p99 write ${r.writeP99.toFixed(1)} ms, p99 read ${r.readP99.toFixed(1)} ms`;

export async function storeThroughput(): Promise<void> {
  const prefix = `slab:bench:${randomBytes(3).toString('hex')}:`;
  const redis = await provisionRedis({ env: { ...process.env, REDIS_URL: '' } });
  try {
    const store = RedisStore.connect(redis.url, prefix);
    const one = await drive(store);
    await store.close();
    console.log(`6. session write+read, ${LOOPS} loops, one Redis:          ${figures(one)}`);
  } finally {
    await redis.stop();
  }
  const cluster = await provisionReplicatedStore('redis-cluster', prefix);
  try {
    const store = ReplicatedRedisStore.connect(cluster.backendConfig.redisTopology!, prefix);
    const many = await drive(store);
    await store.close();
    console.log(`   same driver, Redis Cluster (3 primaries + 3 replicas): ${figures(many)}`);
  } finally {
    await cluster.stop();
  }
}

export async function failoverWindow(): Promise<void> {
  const prefix = `slab:bench:${randomBytes(3).toString('hex')}:`;
  const provisioned = await provisionReplicatedStore('redis-sentinel', prefix);
  const topology = provisioned.topology!;
  const store = ReplicatedRedisStore.connect(provisioned.backendConfig.redisTopology!, prefix);
  try {
    const acked: { id: string; at: number }[] = [];
    let failed = 0;
    let killedAt = 0;
    let stop = false;
    const record = { createdAt: Date.now(), lastSeenAt: Date.now(), data: {} };
    const loops = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const id = randomBytes(16).toString('base64url');
        try {
          await store.set(id, record, 600_000);
          acked.push({ id, at: Date.now() });
        } catch {
          failed++;
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    killedAt = Date.now();
    const old = await topology.killPrimary();
    const promoted = await topology.waitForNewPrimary(old, 60_000);
    const promotedAt = Date.now();
    // Writes go on until one acknowledged after the promotion.
    while (!acked.some((a) => a.at > promotedAt)) await new Promise((resolve) => setTimeout(resolve, 20));
    const resumedAt = acked.find((a) => a.at > promotedAt)!.at;
    stop = true;
    await Promise.all(loops);
    const before = acked.filter((a) => a.at <= killedAt);
    let lost = 0;
    for (const { id } of before) if ((await store.get(id)) === undefined) lost++;
    console.log(
      `7. Sentinel failover (${old.name} killed, ${promoted.name} promoted): writes resumed ${resumedAt - killedAt} ms after the kill; ` +
        `${failed} writes failed; ${lost} of ${before.length} writes acknowledged before the kill missing on the new primary`,
    );
  } finally {
    await store.close();
    await provisioned.stop();
  }
}

export async function readYourWrites(): Promise<void> {
  const rows = await compare(loadScenario('login-browse'), {
    stores: ['redis-replica-reads', 'redis-replica-reads-wait', 'redis'],
    balancers: ['round-robin'],
    faults: ['replica-lag=50ms'],
    users: 20,
  });
  console.log('8. read-your-writes under replica-lag=50ms (login-browse, 20 users):');
  for (const line of formatComparison(rows, 'table').split('\n')) console.log(`   ${line}`);
}
