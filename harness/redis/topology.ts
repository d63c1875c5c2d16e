/**
 * A replicated Redis the harness starts for one cluster: several
 * redis-server processes on loopback, each under provision.ts's keeper (so
 * each dies with the harness, SIGKILL included), wired as primary +
 * replicas (replica-set.ts), with Sentinel (sentinel.ts), or as a Redis
 * Cluster (redis-cluster.ts).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RedisNodeAddress, RedisTopologyConfig } from '../../servers/session/replication-config.js';
import { redisUrl, startKeeper, withClient, type Keeper } from './provision.js';
import { freePort } from '../util/net.js';
import { budgetShare } from '../util/budget.js';

export type TopologyKind = RedisTopologyConfig['kind'];

export interface TopologyNode extends RedisNodeAddress {
  readonly url: string;
  /** redis-server's pid (the keeper's child). */
  readonly redisPid: number;
  /** The keeper's pid. */
  readonly keeperPid: number;
  /** Killed by a fault: it stays down. */
  dead: boolean;
}

/** Who was primary when: recorded with every store fault. */
export interface TopologySnapshot {
  primary: string | undefined;
  replicas: string[];
  /** e.g. `primary redis-1 (127.0.0.1:6379), replicas redis-2, redis-3` */
  text: string;
}

export interface StartedRedisTopology {
  readonly kind: TopologyKind;
  /** The data nodes' requirepass/masterauth, random per topology; never in an artefact (histories and reports name nodes by host:port). */
  readonly password: string;
  readonly nodes: readonly TopologyNode[];
  /** The primary at start (the cluster's first primary for Redis Cluster). */
  readonly primaryUrl: string;
  /** What the reference server needs to use it. */
  backendConfig(readYourWrites: { waitReplicas: number; waitTimeoutMs: number }): RedisTopologyConfig;
  /** What a foreign app gets: REDIS_URL (the primary) and the topology's own variables. */
  env(): Record<string, string>;
  /** Asks the live nodes who is primary now. */
  snapshot(): Promise<TopologySnapshot>;
  /** Who is primary as far as the harness knows (from the start, kills and promotions), without asking. */
  describe(): TopologySnapshot;
  /** Replica lag: the replication stream reaches every replica `ms` late (0: no lag). Replica sets only. */
  setLag?(ms: number): void;
  /** Cut the primary off from its replicas (true) or heal the cut (false). Replica sets only. */
  partition?(cut: boolean): void;
  /** SIGKILL the current primary; it stays down. `before` is told which node, just before. */
  killPrimary(before?: (victim: TopologyNode) => void): Promise<TopologyNode>;
  /** Polls until another node is primary; resolves with it, or throws at the deadline. */
  waitForNewPrimary(old: TopologyNode, timeoutMs: number): Promise<TopologyNode>;
  /** Freezes a node (SIGSTOP) for `ms`. */
  pause(node: TopologyNode, ms: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The password of each data node the harness started, by port, so every
 * short-lived connection to a node (withNode) authenticates without each
 * caller carrying it. Sentinels have none: they hold no sessions.
 */
const PASSWORDS = new Map<number, string>();

/** A node's URL, with its password when it has one (what REDIS_URL carries for a foreign app, as for --store redis). */
export const nodeUrl = (port: number) => {
  const password = PASSWORDS.get(port);
  return password === undefined ? `redis://127.0.0.1:${port}` : redisUrl(port, password);
};

/** A random password for one topology's data nodes. */
export const newTopologyPassword = (): string => randomBytes(18).toString('base64url');

/** `key:value` lines of an INFO reply. */
export function infoFields(info: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of info.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) out[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return out;
}

/**
 * Runs `use` on a short-lived connection that never retries. Its connect and
 * command deadlines are a share of the time budget: a fixed second timed out
 * setting up a Redis Cluster, and reading a lagging replica, at load 28.
 */
export function withNode<T>(port: number, use: (client: Redis) => Promise<T>, timeoutMs = budgetShare(0.1)): Promise<T> {
  return withClient(nodeUrl(port), use, { connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false });
}

/** `master` | `slave` | … as ROLE says; undefined when the node does not answer. */
export async function roleOf(port: number): Promise<string | undefined> {
  try {
    return await withNode(port, async (client) => ((await client.call('ROLE')) as unknown[])[0] as string);
  } catch {
    return undefined;
  }
}

/** Starts one redis-server under a keeper on a free port, trying a few ports. */
export async function startNode(
  binary: string,
  name: string,
  args: (port: number) => string[],
  options: { configFile?: (port: number) => string; cwd?: string; password?: string } = {},
): Promise<TopologyNode & { keeper: Keeper }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const keeper = await startKeeper(binary, port, options.password, { args: args(port), configFile: options.configFile?.(port), cwd: options.cwd });
      if (options.password !== undefined) {
        PASSWORDS.set(port, options.password);
        const stop = keeper.stop;
        keeper.stop = () => stop().finally(() => PASSWORDS.delete(port));
      }
      return { name, host: '127.0.0.1', port, url: nodeUrl(port), redisPid: keeper.redisPid, keeperPid: keeper.pid, dead: false, keeper };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

export function killNode(node: TopologyNode, before?: (victim: TopologyNode) => void): void {
  before?.(node);
  node.dead = true;
  try {
    process.kill(node.redisPid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export async function pauseNode(node: TopologyNode, ms: number): Promise<void> {
  process.kill(node.redisPid, 'SIGSTOP');
  try {
    await new Promise((resolve) => setTimeout(resolve, ms));
  } finally {
    try {
      process.kill(node.redisPid, 'SIGCONT');
    } catch {
      // gone meanwhile
    }
  }
}

/** What a backend's store config needs of a node: its name and where it listens. */
export const nodeAddress = (node: TopologyNode): RedisNodeAddress => ({ name: node.name, host: node.host, port: node.port });

export function describeNodes(primary: TopologyNode | undefined, replicas: readonly TopologyNode[]): TopologySnapshot {
  const label = (node: TopologyNode) => `${node.name} (${node.host}:${node.port})`;
  return {
    primary: primary?.name,
    replicas: replicas.map((node) => node.name),
    text: `primary ${primary ? label(primary) : 'none'}${replicas.length ? `, replica${replicas.length > 1 ? 's' : ''} ${replicas.map(label).join(', ')}` : ''}`,
  };
}

/** Settings every node of a topology shares: fast replication start-up, no disk (a replica loads the primary's snapshot from the socket instead of writing dump.rdb into the current directory). */
export const NODE_ARGS = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--repl-diskless-load', 'on-empty-db', '--repl-ping-replica-period', '1'];
