import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { HarnessError } from '../errors.js';
import { childExited, stopChild, trackChild } from '../util/children.js';

/**
 * Finds a Redis for a cluster, in this order:
 *   1. REDIS_URL (or an explicit url): used as is, never replaced by another;
 *   2. redis-server from PATH, spawned on a free loopback port, no persistence;
 *   3. a redis container through testcontainers, when a Docker engine answers;
 *   4. otherwise SLAB_ERR_REDIS_UNAVAILABLE, listing these three ways.
 */
export interface ProvisionedRedis {
  readonly url: string;
  readonly source: 'REDIS_URL' | 'redis-server' | 'testcontainers';
  /** The redis-server pid when session-lab spawned one. */
  readonly pid?: number;
  stop(): Promise<void>;
}

export interface ProvisionRedisOptions {
  /** Takes precedence over REDIS_URL. */
  url?: string;
  env?: NodeJS.ProcessEnv;
}

const HOW_TO_GET_REDIS =
  'Get Redis one of three ways: (1) set REDIS_URL=redis://HOST:PORT to a running Redis; ' +
  '(2) put redis-server on PATH (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) and session-lab starts one on a free port; ' +
  '(3) start a Docker engine and session-lab runs redis:7-alpine through testcontainers.';

/** Resolves when PING answers PONG; throws the underlying connection error otherwise. */
export async function pingRedis(url: string, timeoutMs = 2000): Promise<void> {
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

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function findOnPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function spawnRedisServer(binary: string): Promise<ProvisionedRedis> {
  let lastError: unknown;
  // A free port can be taken between probe and bind: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    // redis-server does not watch its parent. A tiny sh keeper does: it holds
    // our stdin pipe and kills redis when the pipe closes, which happens when
    // the harness stops it or dies, even by SIGKILL.
    const keeper = spawn(
      'sh',
      [
        '-c',
        'trap \'kill -9 "$r" 2>/dev/null\' EXIT; trap "exit 0" TERM INT HUP; ' +
          '"$0" --bind 127.0.0.1 --port "$1" --save "" --appendonly no --daemonize no --loglevel warning & r=$!; ' +
          'read _ignored; exit 0',
        binary,
        String(port),
      ],
      // Its own process group: a Ctrl-C at the terminal reaches only the
      // harness, which stops redis in order; on a hard exit the harness
      // kills the whole group.
      { stdio: ['pipe', 'ignore', 'pipe'], detached: true },
    );
    trackChild(keeper, { group: true });
    let stderr = '';
    keeper.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const url = `redis://127.0.0.1:${port}`;
    const exited = childExited(keeper).then(() => true);
    let stopping: Promise<void> | undefined;
    // SIGTERM runs the keeper's EXIT trap, which kills redis-server.
    const stop = () => (stopping ??= stopChild(keeper, 500));
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      try {
        await pingRedis(url, 500);
        return { url, source: 'redis-server', pid: keeper.pid, stop };
      } catch (error) {
        lastError = error;
      }
      // Poll, not sleep: a short wait between PINGs, bounded by the deadline.
      const gone = await Promise.race([exited, new Promise<false>((resolve) => setTimeout(() => resolve(false), 10))]);
      if (gone || stderr.includes('Address already in use')) break;
    }
    await stop();
    lastError = new Error(`redis-server on port ${port} did not answer PING${stderr ? `: ${stderr.trim()}` : ''}`, { cause: lastError });
  }
  throw lastError;
}

async function startContainer(): Promise<ProvisionedRedis> {
  const { GenericContainer } = await import('testcontainers');
  const container = await new GenericContainer('redis:7-alpine')
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .start();
  const url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
  let stopping: Promise<void> | undefined;
  return {
    url,
    source: 'testcontainers',
    stop: () => (stopping ??= container.stop().then(() => undefined)),
  };
}

export async function provisionRedis(options: ProvisionRedisOptions = {}): Promise<ProvisionedRedis> {
  const env = options.env ?? process.env;
  const given = options.url ?? env.REDIS_URL;
  if (given) {
    try {
      await pingRedis(given);
    } catch (error) {
      throw new HarnessError(
        'SLAB_ERR_REDIS_UNAVAILABLE',
        `store redis: cannot reach ${options.url ? 'redisUrl' : 'REDIS_URL'} ${redactUrl(given)}: ${(error as Error).message}. ` +
          'Start that Redis, or unset REDIS_URL to let session-lab start one.',
        { cause: error },
      );
    }
    return { url: given, source: 'REDIS_URL', stop: async () => {} };
  }

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
