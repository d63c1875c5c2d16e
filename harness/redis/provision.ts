import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { HarnessError } from '../errors.js';
import { childExited, stopChild, trackChild } from '../util/children.js';
import { budgetHint, budgetShare, timeoutBudgetMs } from '../util/budget.js';
import { freePort } from '../util/net.js';
import { findOnPath } from '../util/paths.js';
import { checkRedisUrl, redactUrl } from './redis-url.js';

/**
 * Finds a Redis for a cluster, in this order:
 *   1. REDIS_URL (or an explicit url): used as is, never replaced by another;
 *   2. redis-server from PATH, spawned on a free loopback port, no persistence;
 *   3. a redis container through testcontainers, when a Docker engine answers
 *      (./redis-container.ts; first, without 2., for `container: true`);
 *   4. otherwise SLAB_ERR_REDIS_UNAVAILABLE, listing these three ways.
 */
export interface ProvisionedRedis {
  readonly url: string;
  readonly source: 'REDIS_URL' | 'redis-server' | 'testcontainers';
  /** The keeper's pid when session-lab spawned redis-server (redis is its child). */
  readonly pid?: number;
  stop(): Promise<void>;
  /** Kills the Redis process; it stays down. */
  kill(): Promise<void>;
  /** Restarts Redis empty, at the same URL. */
  restart(): Promise<void>;
  /** Freezes Redis for `ms` (SIGSTOP/SIGCONT), then lets it go on. */
  pause(ms: number): Promise<void>;
  /** Makes Redis slow for `ms`: every command waits tens of ms. */
  slow(ms: number): Promise<void>;
}

export interface ProvisionRedisOptions {
  /** Takes precedence over REDIS_URL. */
  url?: string;
  /** Start Redis as a container (`--runtime docker`) rather than redis-server from PATH, when no url is given. */
  container?: boolean;
  env?: NodeJS.ProcessEnv;
}

const HOW_TO_GET_REDIS =
  'Get Redis one of three ways: (1) set REDIS_URL=redis://HOST:PORT to a running Redis; ' +
  '(2) put redis-server on PATH (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) and session-lab starts one on a free port; ' +
  '(3) start a Docker engine that has redis:7-alpine or session-lab/base:local (docker/engine.sh) and session-lab runs it through testcontainers.';

/** Resolves when PING answers PONG; throws the underlying connection error otherwise. */
export async function pingRedis(url: string, timeoutMs = budgetShare(1 / 15)): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    // ioredis arms this timer on disconnect() even for a stream that is
    // already closed, which would hold the process open for 2 s.
    disconnectTimeout: 50,
  });
  let firstError: Error | undefined;
  client.on('error', (error: Error) => {
    firstError ??= error;
  });
  try {
    await client.connect();
    const reply = await client.ping();
    if (reply !== 'PONG') throw new Error(`PING answered ${reply}`);
  } catch (error) {
    // "Connection is closed." says less than the socket error that caused it.
    throw firstError ?? error;
  } finally {
    if (client.status !== 'end') client.disconnect();
  }
}

/** The URL of a Redis session-lab started: the app servers (and foreign apps, as REDIS_URL) get its password this way. */
export function redisUrl(port: number, password: string): string {
  return `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`;
}

export interface Keeper {
  /** The keeper's pid (it leads the process group). */
  pid: number;
  /** redis-server's own pid. */
  redisPid: number;
  stop(): Promise<void>;
}

/**
 * Starts redis-server on `port` under a keeper; resolves once it answers PING.
 * `password` becomes its requirepass (and masterauth, for a replica of a
 * topology whose nodes share it): a Redis on loopback is still reachable
 * by every local user, and it holds live sessions. It travels in the
 * keeper's environment (readable by its owner only), not its command line.
 * `args` are passed to redis-server after the port (replication, cluster or
 * sentinel settings); `configFile` goes first, as sentinel mode needs one.
 */
export async function startKeeper(
  binary: string,
  port: number,
  password: string | undefined,
  { args = [], configFile, cwd }: { args?: string[]; configFile?: string; cwd?: string } = {},
): Promise<Keeper> {
  // redis-server does not watch its parent. A tiny sh keeper does: it holds
  // our stdin pipe and kills redis when the pipe closes, which happens when
  // the harness stops it or dies, even by SIGKILL. It prints redis's pid.
  const keeper = spawn(
    'sh',
    [
      '-c',
      'trap \'kill -9 "$r" 2>/dev/null\' EXIT; trap "exit 0" TERM INT HUP; ' +
        'if [ -n "$SLAB_REDIS_PASSWORD" ]; then set -- "$@" --requirepass "$SLAB_REDIS_PASSWORD" --masterauth "$SLAB_REDIS_PASSWORD"; fi; ' +
        '"$0" "$@" & r=$!; ' +
        'echo "$r"; read _ignored; exit 0',
      binary,
      ...(configFile ? [configFile] : []),
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
      ...args,
    ],
    // Its own process group: a Ctrl-C at the terminal reaches only the
    // harness, which stops redis in order; on a hard exit the harness
    // kills the whole group.
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true, cwd, env: { ...process.env, SLAB_REDIS_PASSWORD: password ?? '' } },
  );
  trackChild(keeper, { group: true });
  let stderr = '';
  let stdout = '';
  keeper.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  keeper.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const url = password === undefined ? `redis://127.0.0.1:${port}` : redisUrl(port, password);
  const exited = childExited(keeper).then(() => true);
  let stopping: Promise<void> | undefined;
  // SIGTERM runs the keeper's EXIT trap, which kills redis-server. A keeper
  // too slow to run it (a loaded machine: past the grace it gets SIGKILL) or
  // signalled before it knew redis's pid would leave redis-server behind,
  // reparented to init (seen once at load 28): its process group, which
  // redis-server shares, is killed after the keeper in any case.
  const stop = () =>
    (stopping ??= stopChild(keeper, 500).then(() => {
      try {
        process.kill(-keeper.pid!, 'SIGKILL');
      } catch {
        // the group is gone: redis-server went with its keeper
      }
    }));
  const budget = timeoutBudgetMs();
  const deadline = Date.now() + budget;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await pingRedis(url, budgetShare(1 / 60));
      return { pid: keeper.pid!, redisPid: Number(stdout.trim().split('\n')[0]), stop };
    } catch (error) {
      lastError = error;
    }
    // Poll, not sleep: a short wait between PINGs, bounded by the deadline.
    const gone = await Promise.race([exited, new Promise<false>((resolve) => setTimeout(() => resolve(false), 10))]);
    if (gone || stderr.includes('Address already in use')) break;
  }
  await stop();
  throw new Error(`redis-server on port ${port} did not answer PING within ${budget} ms${stderr ? `: ${stderr.trim()}` : ` ${budgetHint()}`}`, { cause: lastError });
}

/** Uses a short-lived connection that gives up at once instead of retrying; `options` tighten it further. */
export async function withClient<T>(url: string, use: (client: Redis) => Promise<T>, options: RedisOptions = {}): Promise<T> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true, disconnectTimeout: 50, ...options });
  client.on('error', () => {});
  try {
    await client.connect();
    return await use(client);
  } finally {
    client.disconnect();
  }
}

/** Sends one command on a short-lived connection. */
function command(url: string, name: string, ...args: (string | number)[]): Promise<unknown> {
  return withClient(url, (client) => client.call(name, ...args));
}

/** Removes the keys under `prefix` (a cluster's sessions) from a Redis session-lab did not start. */
export function deleteKeys(url: string, prefix: string): Promise<void> {
  return withClient(url, async (client) => {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  });
}

/** CLIENT PAUSE in short slices for `ms`: every command waits up to `slice` ms. Works on any Redis. */
export async function slowDown(url: string, ms: number, slice = 40): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await command(url, 'CLIENT', 'PAUSE', slice);
    await new Promise((resolve) => setTimeout(resolve, slice + 10));
  }
}

async function spawnRedisServer(binary: string): Promise<ProvisionedRedis> {
  let lastError: unknown;
  // A free port can be taken between probe and bind: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    // One per Redis, kept across restart-redis so every backend's client reconnects with it.
    const password = randomBytes(18).toString('base64url');
    let keeper: Keeper;
    try {
      keeper = await startKeeper(binary, port, password);
    } catch (error) {
      lastError = error;
      continue;
    }
    const url = redisUrl(port, password);
    let stopped = false;
    let stopping: Promise<void> | undefined;
    return {
      url,
      source: 'redis-server',
      get pid() {
        return keeper.pid;
      },
      stop: () => (stopping ??= ((stopped = true), keeper.stop())),
      async kill() {
        try {
          process.kill(keeper.redisPid, 'SIGKILL');
        } catch {
          // already gone
        }
      },
      async restart() {
        await keeper.stop();
        if (stopped) return;
        // Same port, so every backend's client reconnects to it; a new process, so it is empty.
        keeper = await startKeeper(binary, port, password);
      },
      async pause(ms: number) {
        process.kill(keeper.redisPid, 'SIGSTOP');
        await new Promise((resolve) => setTimeout(resolve, ms));
        process.kill(keeper.redisPid, 'SIGCONT');
      },
      slow: (ms: number) => slowDown(url, ms),
    };
  }
  throw lastError;
}

/** A Redis session-lab did not start: it may empty its own keys and pause clients, not kill it. */
function externalRedis(url: string, source: 'REDIS_URL'): ProvisionedRedis {
  return {
    url,
    source,
    stop: async () => {},
    async kill() {
      throw new HarnessError('SLAB_ERR_OPTION_INVALID', `kill-redis needs a Redis session-lab started itself; ${source} is someone else's (unset REDIS_URL)`);
    },
    async restart() {
      throw new HarnessError('SLAB_ERR_OPTION_INVALID', `restart-redis needs a Redis session-lab started itself; ${source} is someone else's (unset REDIS_URL)`);
    },
    pause: (ms: number) => command(url, 'CLIENT', 'PAUSE', ms).then(() => new Promise((resolve) => setTimeout(resolve, ms))),
    slow: (ms: number) => slowDown(url, ms),
  };
}

async function startContainer(): Promise<ProvisionedRedis> {
  // Loaded only here: testcontainers is not needed by a run that has a Redis.
  const { startRedisContainer } = await import('./redis-container.js');
  return startRedisContainer();
}

export async function provisionRedis(options: ProvisionRedisOptions = {}): Promise<ProvisionedRedis> {
  const env = options.env ?? process.env;
  const given = options.url ?? env.REDIS_URL;
  if (given) {
    checkRedisUrl(given, options.url ? 'redisUrl' : 'REDIS_URL');
    try {
      await pingRedis(given);
    } catch (error) {
      throw new HarnessError(
        'SLAB_ERR_REDIS_UNAVAILABLE',
        `store redis: cannot reach ${options.url ? 'redisUrl' : 'REDIS_URL'} ${redactUrl(given)}: ${(error as Error).message}. ` + 'Start that Redis, or unset REDIS_URL to let session-lab start one.',
        { cause: error },
      );
    }
    return externalRedis(given, 'REDIS_URL');
  }

  if (options.container) return startContainer();

  const binary = findOnPath('redis-server', env);
  if (binary) {
    try {
      return await spawnRedisServer(binary);
    } catch (error) {
      throw new HarnessError('SLAB_ERR_REDIS_UNAVAILABLE', `store redis: ${binary} did not start: ${(error as Error).message}. ${HOW_TO_GET_REDIS}`, {
        cause: error,
      });
    }
  }

  try {
    return await startContainer();
  } catch (error) {
    throw new HarnessError(
      'SLAB_ERR_REDIS_UNAVAILABLE',
      `store redis: no REDIS_URL, no redis-server on PATH, and no Docker engine for testcontainers (${(error as Error).message}). ${HOW_TO_GET_REDIS}`,
      { cause: error },
    );
  }
}
