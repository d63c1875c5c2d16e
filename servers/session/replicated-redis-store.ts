import { Cluster, Redis } from 'ioredis';
import { RedisStore } from './redis-store.js';
import type { RedisNodeAddress, RedisTopologyConfig, ReplicationPosition, StoreTrace } from './replication-config.js';
import type { SessionRecord, SessionStore } from './store.js';

/**
 * Sessions in a replicated Redis: one primary with replicas (reads served
 * by a replica, as ioredis `scaleReads: 'slave'` does), a primary named by
 * Sentinel, or Redis Cluster. Records are the same JSON strings under the
 * same keys as redis-store.ts.
 *
 * Every session write and every read that finds nothing reports where it
 * happened, so the diagnosis can prove (or not) that a read hit a node
 * that lacked the write:
 *
 *   write  INFO server+replication, then SET/DEL, pipelined on one
 *          connection: the primary's replication offset *before* the
 *          write; plus the bytes of key and value, which the propagated
 *          command carries, gives `ends`, a lower bound of the offset
 *          where the write ends in the replication stream;
 *   read   from a replica: GET and INFO replication in one MULTI, so the
 *          position is what the replica had applied when it answered;
 *          from a primary (Sentinel), INFO after a miss only, on the
 *          connection that answered the GET: an upper bound of what that
 *          node had applied (a primary's offset only grows, and a
 *          promotion keeps the history it took over in replid2).
 *
 * With `waitReplicas`, writes are followed by WAIT (read-your-writes: the
 * answer leaves only once the replicas have the session).
 */
type Client = Redis | Cluster;

/**
 * Redis Cluster: the position must come from the node that owns the key's
 * slot, and a pipeline that mixes INFO (keyless, answered anywhere) with a
 * redirected SET is not retried by ioredis after a failover (MOVED). A
 * script with the key is routed, and redirected, like any keyed command.
 */
const CLUSTER_SCRIPTS = {
  /** INFO, then SET (ARGV: set, json, ttl) or DEL (ARGV: del): the position just before the write. */
  slabWrite: {
    numberOfKeys: 1,
    lua: "local info = redis.call('INFO', 'server', 'replication'); if ARGV[1] == 'set' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) else redis.call('DEL', KEYS[1]) end; return info",
  },
  /** EXISTS and INFO together: whether the slot's owner has the key, and its position. */
  slabProbe: { numberOfKeys: 1, lua: "return {redis.call('EXISTS', KEYS[1]), redis.call('INFO', 'server', 'replication')}" },
};
type ClusterScripts = { slabWrite(key: string, ...args: (string | number)[]): Promise<string>; slabProbe(key: string): Promise<[number, string]> };

export class ReplicatedRedisStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly #writer: Client;
  readonly #readers: { client: Redis; node: RedisNodeAddress }[];
  readonly #config: RedisTopologyConfig;
  readonly #prefix: string;
  readonly #locking: RedisStore;
  #next = 0;

  private constructor(config: RedisTopologyConfig, prefix: string) {
    this.#config = config;
    this.#prefix = prefix;
    // Short retries: a reconnect after a failover is found in a few hundred ms.
    const retry = { retryStrategy: (times: number) => Math.min(50 * times, 200), connectTimeout: 2000 };
    const password = config.password;
    if (config.kind === 'cluster') {
      this.#writer = new Cluster(
        config.nodes.map(({ host, port }) => ({ host, port })),
        {
          clusterRetryStrategy: retry.retryStrategy,
          // As with Sentinel, a request during a failover waits for the promotion (a node is failed over
          // after cluster-node-timeout plus an election): each retry after 200 ms, bounded to ~30 s.
          retryDelayOnFailover: 200,
          retryDelayOnClusterDown: 200,
          maxRedirections: 150,
          redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 2000, password },
        },
      );
    } else if (config.kind === 'sentinel') {
      this.#writer = new Redis({
        sentinels: config.sentinels,
        name: config.masterName,
        role: 'master',
        password,
        sentinelRetryStrategy: retry.retryStrategy,
        // A request during a failover waits for the promotion (ioredis's
        // default behaviour is to retry 20 times), bounded here to ~30 s.
        maxRetriesPerRequest: 150,
        ...retry,
      });
    } else {
      this.#writer = new Redis({ host: config.primary!.host, port: config.primary!.port, maxRetriesPerRequest: 1, password, ...retry });
    }
    this.#readers = (config.kind === 'replica-reads' ? (config.replicas ?? []) : []).map((node) => ({
      node,
      client: new Redis({ host: node.host, port: node.port, maxRetriesPerRequest: 1, password, ...retry }),
    }));
    for (const client of [this.#writer, ...this.#readers.map((r) => r.client)]) client.on('error', () => {});
    if (config.kind === 'cluster') for (const [name, script] of Object.entries(CLUSTER_SCRIPTS)) this.#writer.defineCommand(name, script);
    this.#locking = new RedisStore(this.#writer as Redis, prefix);
  }

  static connect(config: RedisTopologyConfig, prefix: string): ReplicatedRedisStore {
    return new ReplicatedRedisStore(config, prefix);
  }

  #key(id: string): string {
    return `${this.#prefix}sess:${id}`;
  }

  #nameOf(port: number | undefined): { node: string; addr: string } {
    const known = this.#config.nodes.find((node) => node.port === port);
    return { node: known?.name ?? `127.0.0.1:${port ?? '?'}`, addr: `${known?.host ?? '127.0.0.1'}:${port ?? '?'}` };
  }

  #position(info: string): ReplicationPosition {
    const fields: Record<string, string> = {};
    for (const line of info.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1);
    }
    const primary = fields.role === 'master';
    const replid2 = fields.master_replid2 && !/^0+$/.test(fields.master_replid2) ? fields.master_replid2 : undefined;
    return {
      ...this.#nameOf(Number(fields.tcp_port)),
      role: primary ? 'primary' : 'replica',
      replid: fields.master_replid,
      // What a replica has applied; what a primary has written.
      offset: Number(primary ? fields.master_repl_offset : (fields.slave_repl_offset ?? fields.master_repl_offset)),
      ...(replid2 ? { replid2, offset2: Number(fields.second_repl_offset) } : {}),
    };
  }

  async get(id: string, trace?: StoreTrace): Promise<SessionRecord | undefined> {
    const key = this.#key(id);
    if (this.#config.kind === 'cluster') {
      const json = await this.#writer.get(key);
      if (json !== null) return JSON.parse(json) as SessionRecord;
      if (trace) {
        // After a miss, the key's slot owner again (a pipeline goes to one node): when it still lacks the
        // session, its position (a promoted replica keeps the history it took over) is that of a node
        // without the write; when it has it now, only who answered is known.
        const probe = await (this.#writer as unknown as ClusterScripts).slabProbe(key).catch(() => undefined);
        if (probe) {
          const position = this.#position(probe[1]);
          trace.read = probe[0] === 0 ? position : { node: position.node, addr: position.addr, role: position.role };
        }
      }
      return undefined;
    }
    const reader = this.#readers.length ? this.#readers[this.#next++ % this.#readers.length] : undefined;
    if (reader) {
      // A replica read takes the replica's position in the same transaction:
      // an INFO sent after a miss could see a write that arrived meanwhile,
      // and a lag of tens of ms is over before a second round trip on a
      // loaded machine. INFO replication is a few hundred bytes.
      const [json, info] = await this.#check(reader.client.multi().get(key).info('replication').exec());
      if (trace) trace.read = json === null ? { ...this.#position(info as string), ...this.#nameOf(reader.node.port) } : { ...this.#nameOf(reader.node.port), role: 'replica' };
      return json === null ? undefined : (JSON.parse(json as string) as SessionRecord);
    }
    const client = this.#writer as Redis;
    const json = await client.get(key);
    // The connection that delivered the answer (a reconnect after a failover replaces it).
    const stream = (client as unknown as { stream?: { remotePort?: number } }).stream;
    if (trace) trace.read = { ...this.#nameOf(stream?.remotePort), role: 'primary' };
    if (json !== null) return JSON.parse(json) as SessionRecord;
    if (trace) {
      // Only when the INFO came over the very connection that answered the GET is it that node's position.
      const info = await client.info('server', 'replication').catch(() => undefined);
      if (info !== undefined && (client as unknown as { stream?: unknown }).stream === stream) trace.read = this.#position(info);
    }
    return undefined;
  }

  /** A session write with its evidence: the primary's position just before it, and WAIT's answer. */
  async #write(trace: StoreTrace | undefined, bytes: number, build: (pipeline: ReturnType<Client['pipeline']>) => void, clusterArgs: [key: string, ...args: (string | number)[]]): Promise<void> {
    if (this.#config.kind === 'cluster') {
      if (!trace) {
        const pipeline = this.#writer.pipeline();
        build(pipeline);
        await this.#check(pipeline.exec());
        return;
      }
      const before = this.#position(await (this.#writer as unknown as ClusterScripts).slabWrite(...clusterArgs));
      trace.write = { ...before, ends: before.offset + bytes };
      return;
    }
    const pipeline = this.#writer.pipeline();
    pipeline.info('server', 'replication');
    build(pipeline);
    const results = await this.#check(pipeline.exec());
    let acked: number | undefined;
    if (this.#config.waitReplicas > 0) {
      acked = (await (this.#writer as Redis).call('WAIT', this.#config.waitReplicas, this.#config.waitTimeoutMs)) as number;
    }
    if (trace) {
      const before = this.#position(results[0] as string);
      // The propagated command carries at least the key and the value: the write ends no earlier than this.
      trace.write = { ...before, ends: before.offset + bytes, ...(acked !== undefined ? { replicasAcked: acked } : {}) };
    }
  }

  async #check(pending: Promise<[Error | null, unknown][] | null>): Promise<unknown[]> {
    const results = (await pending) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
    return results.map(([, value]) => value);
  }

  async set(id: string, record: SessionRecord, ttlMs: number, trace?: StoreTrace): Promise<void> {
    const json = JSON.stringify(record);
    const key = this.#key(id);
    const ttl = Math.max(1, Math.round(ttlMs));
    await this.#write(trace, Buffer.byteLength(key) + Buffer.byteLength(json), (pipeline) => pipeline.set(key, json, 'PX', ttl), [key, 'set', json, ttl]);
  }

  async destroy(id: string, trace?: StoreTrace): Promise<void> {
    const key = this.#key(id);
    await this.#write(trace, Buffer.byteLength(key), (pipeline) => pipeline.del(key), [key, 'del']);
  }

  async touch(id: string, ttlMs: number): Promise<void> {
    await this.#writer.pexpire(this.#key(id), Math.max(1, Math.round(ttlMs)));
  }

  update(id: string, apply: (record: SessionRecord) => void, ttlMs: number): Promise<'written' | 'gone'> {
    return this.#locking.update(id, apply, ttlMs);
  }

  async close(): Promise<void> {
    await this.#locking.close().catch(() => {});
    for (const { client } of this.#readers) client.disconnect();
  }
}
