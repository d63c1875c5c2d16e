/**
 * What a backend is told about a replicated Redis topology (issue 9), part
 * of its BackendConfig: which node is which, where to write, where to read,
 * and how to reach Sentinel or the cluster. Shared by the harness (which
 * starts the topology) and the reference server (which uses it).
 */
export interface RedisNodeAddress {
  /** The name evidence uses: redis-1, redis-2, … */
  name: string;
  host: string;
  port: number;
}

export interface RedisTopologyConfig {
  /**
   * `replica-reads`: write to the primary, read sessions from a replica, as
   * ioredis `scaleReads: 'slave'` does; `sentinel`: the current primary, as
   * Sentinel names it; `cluster`: Redis Cluster, keys spread over primaries.
   */
  kind: 'replica-reads' | 'sentinel' | 'cluster';
  /** Every data node, for naming the one that served a command. */
  nodes: RedisNodeAddress[];
  /** replica-reads: the primary written to. */
  primary?: RedisNodeAddress;
  /** replica-reads: the replicas sessions are read from, in turn. */
  replicas?: RedisNodeAddress[];
  /** sentinel: the sentinels and the name they monitor the primary by. */
  sentinels?: { host: string; port: number }[];
  masterName?: string;
  /**
   * The read-your-writes fix: after a session write, WAIT until this many
   * replicas have it (at most waitTimeoutMs) before answering. 0: off.
   */
  waitReplicas: number;
  waitTimeoutMs: number;
  /** The data nodes' requirepass (sentinels have none); reaches the server in its environment, never in a header. */
  password?: string;
}

/** One node's replication position, from INFO replication (and INFO server for who it is). */
export interface ReplicationPosition {
  /** The node's name in the topology, or host:port when it is not one of them. */
  node: string;
  addr: string;
  role: 'primary' | 'replica';
  /** The replication history this node is on. */
  replid: string;
  offset: number;
  /** The history it continued from after a promotion, and the offset that one ended at (exclusive). */
  replid2?: string;
  offset2?: number;
}

/** The store's report of one request: the node a read hit, and the node a write went to. */
export interface StoreTrace {
  /** Which node served the session read; with its position when the read found nothing. */
  read?: ReplicationPosition | { node: string; addr: string; role: 'primary' | 'replica' };
  /**
   * Where a session write (set/destroy) went: the primary's offset just
   * before it, and `ends`, a lower bound of the offset where the write ends
   * (a node whose offset is below it has not applied the write).
   */
  write?: ReplicationPosition & { ends: number; replicasAcked?: number };
}

const FIELD = /^[a-z0-9]+$/i;

/** `node=redis-2;addr=127.0.0.1:6380;role=replica;replid=…;offset=123`: one header value, no secrets. */
export function formatPosition(position: Record<string, string | number | undefined>): string {
  return Object.entries(position)
    .filter(([key, value]) => value !== undefined && FIELD.test(key))
    .map(([key, value]) => `${key}=${value}`)
    .join(';');
}

export function parsePosition(header: string | undefined): Record<string, string> | undefined {
  if (!header) return undefined;
  const out: Record<string, string> = {};
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}
