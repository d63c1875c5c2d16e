/**
 * Redis as a container, through testcontainers, on the host's network at
 * 127.0.0.1 on a free port: the store of `--runtime docker`, and the last
 * resort of provisionRedis when there is no redis-server on PATH.
 *
 * The image (it needs sh and redis-server): SLAB_REDIS_IMAGE when set, else the first the engine has of
 * session-lab/base:local (the host's own redis-server) and redis:7-alpine.
 * Its faults act on the container: kill is SIGKILL (it stays down), restart
 * a new empty container at the same address, pause freezes it (docker pause).
 */
import { randomBytes } from 'node:crypto';
import { BASE_IMAGE, hasImage } from '../docker/engine.js';
import { startHostContainer, type StartedHostContainer } from '../docker/container.js';
import { HarnessError } from '../errors.js';
import { budgetShare, timeoutBudgetMs } from '../util/budget.js';
import { freePort } from '../util/net.js';
import { pingRedis, slowDown, type ProvisionedRedis } from './provision.js';

const REDIS_IMAGES = [BASE_IMAGE, 'redis:7-alpine'];

export interface RedisContainerOptions {
  /** NAME[:TAG] of an image with redis-server on its PATH. */
  image?: string;
  startupTimeoutMs?: number;
}

async function chooseImage(given: string | undefined): Promise<string> {
  if (given) return given;
  for (const candidate of REDIS_IMAGES) if (await hasImage(candidate)) return candidate;
  throw new HarnessError(
    'SLAB_ERR_IMAGE_MISSING',
    `store redis: a Redis container needs one of ${REDIS_IMAGES.join(', ')} in the Docker engine (or SLAB_REDIS_IMAGE). ` +
      'session-lab never pulls: docker pull redis:7-alpine, or eval "$(docker/engine.sh start)", which imports session-lab/base:local.',
  );
}

export async function startRedisContainer(options: RedisContainerOptions = {}): Promise<ProvisionedRedis> {
  const image = await chooseImage(options.image ?? process.env.SLAB_REDIS_IMAGE);
  const startupTimeoutMs = options.startupTimeoutMs ?? timeoutBudgetMs();
  const port = await freePort();
  // A random password, as for a spawned redis-server (see provision.ts): on the
  // host network every local user can reach it. In the environment, not on
  // redis-server's command line, which any local user sees in ps.
  const password = randomBytes(18).toString('base64url');
  const url = `redis://:${password}@127.0.0.1:${port}`;
  const start = () =>
    startHostContainer({
      image,
      what: 'redis',
      role: 'redis',
      env: { SLAB_REDIS_PASSWORD: password },
      command: ['sh', '-c', 'exec redis-server --bind 127.0.0.1 --port "$0" --requirepass "$SLAB_REDIS_PASSWORD" --save "" --appendonly no --loglevel warning', String(port)],
      startupTimeoutMs,
      ready: () => pingRedis(url, budgetShare(1 / 60)),
    });
  let container: StartedHostContainer = await start();
  let stopped = false;
  let stopping: Promise<void> | undefined;
  return {
    url,
    source: 'testcontainers',
    stop: () => (stopping ??= ((stopped = true), container.stop(1))),
    kill: () => container.kill(),
    async restart() {
      await container.stop(1);
      if (stopped) return;
      // Same address, so every backend's client reconnects to it; a new container, so it is empty.
      container = await start();
    },
    pause: (ms: number) => container.pause(ms),
    slow: (ms: number) => slowDown(url, ms),
  };
}
