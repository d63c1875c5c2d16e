/**
 * One container on the host's network, started through testcontainers and
 * watched until it is ready: the building block of the container backends
 * and the container Redis.
 *
 *   harness ──testcontainers──▶ engine ──▶ container (network host, 127.0.0.1:PORT)
 *                                  ▲
 *   watchdog ── removes it if the harness dies
 *
 * session-lab never pulls: it runs images the engine already has (a pull
 * would reach a registry, and these machines have loopback only), and says
 * how to get a missing one.
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { HarnessError } from '../errors.js';
import { budgetHint, budgetShare } from '../util/budget.js';
import { dockerClient, hasImage, lastLines } from './engine.js';
import { freeze } from './freeze.js';
import { ownerLabels, watchContainer } from './watchdog.js';

const LABEL_KEY = 'session-lab.container';

export interface HostContainerOptions {
  /** NAME[:TAG] of an image the engine has. */
  image: string;
  /** What the container is, for messages: `replica app-2`, `redis`. */
  what: string;
  /** `session-lab.role` label: `backend`, `redis`. */
  role: string;
  env?: Record<string, string>;
  command?: string[];
  user?: string;
  /** Each line the container prints (stdout and stderr). */
  onLine?: (line: string) => void;
  /** Resolves once the container is ready; throws (with why) while it is not. Polled until `startupTimeoutMs`. */
  ready: () => Promise<void>;
  startupTimeoutMs: number;
}

export interface StartedHostContainer {
  readonly id: string;
  /** Resolves when the container has stopped, for whatever reason. */
  readonly exited: Promise<void>;
  /** What it printed last, for error messages. */
  output(): string;
  /** Stops it (SIGTERM, SIGKILL after a grace period) and removes it. Idempotent. */
  stop(graceSeconds?: number): Promise<void>;
  /** SIGKILL, as a crash, and removes it. */
  kill(): Promise<void>;
  /** Freezes every process in it (docker pause) for `ms`, then lets them go on. */
  pause(ms: number): Promise<void>;
}

/** The output of a container, kept short. */
class OutputTail {
  private text = '';
  add(line: string): void {
    this.text += line + '\n';
    if (this.text.length > 16_000) this.text = this.text.slice(-8_000);
  }
  toString(): string {
    return this.text;
  }
}

export async function startHostContainer(options: HostContainerOptions): Promise<StartedHostContainer> {
  const engine = await dockerClient();
  if (!(await hasImage(options.image))) {
    throw new HarnessError(
      'SLAB_ERR_IMAGE_MISSING',
      `${options.what}: image ${options.image} is not in the Docker engine's images (DOCKER_HOST=${process.env.DOCKER_HOST ?? 'default'}). ` +
        `session-lab never pulls: build it (docker build -t ${options.image} .), pull it (docker pull ${options.image}) or load it (docker load) first.`,
    );
  }
  await reaperSettled(engine);
  // The watchdog knows a container may exist before it does; told again once it is gone.
  const watched = await watchContainer();
  const { GenericContainer } = await import('testcontainers');
  const tail = new OutputTail();
  // A label of its own, to find it even when start() fails after creating it.
  const key = randomBytes(8).toString('hex');
  const labels = { ...ownerLabels(options.role), [LABEL_KEY]: key };
  let logsEnded: Promise<void> = Promise.resolve();
  let container = new GenericContainer(options.image)
    .withNetworkMode('host')
    .withLabels(labels)
    .withEnvironment(options.env ?? {})
    .withLogConsumer((stream: Readable) => {
      const lines = createInterface({ input: stream });
      logsEnded = new Promise((resolve) => lines.once('close', () => resolve()));
      lines.on('line', (line) => {
        tail.add(line);
        options.onLine?.(line);
      });
    });
  if (options.command) container = container.withCommand(options.command);
  if (options.user) container = container.withUser(options.user);

  let started;
  try {
    started = await container.start();
  } catch (error) {
    const left = await engine.container.dockerode.listContainers({ all: true, filters: { label: [`${LABEL_KEY}=${key}`] } }).catch(() => undefined);
    const removed = await Promise.all((left ?? []).map((info) => removedFromEngine(engine.container.getById(info.Id).remove({ force: true }))));
    if (left && removed.every(Boolean)) watched.removed();
    throw new HarnessError('SLAB_ERR_CONTAINER_START', `${options.what}: image ${options.image} did not start: ${(error as Error).message}${quote(tail)}`, {
      cause: error,
    });
  }
  const handle = engine.container.getById(started.getId());
  // The engine answers a wait once the container stops: that is its exit.
  let hasExited = false;
  const exited = handle
    .wait()
    .catch(() => undefined)
    .then(() => {
      hasExited = true;
    });

  let stopping: Promise<void> | undefined;
  const remove = async (graceSeconds: number | undefined) => {
    if (graceSeconds !== undefined && !hasExited) await handle.stop({ t: graceSeconds }).catch(() => undefined);
    const gone = await removedFromEngine(handle.remove({ force: true, v: true }));
    await exited;
    if (gone) watched.removed();
  };
  const result: StartedHostContainer = {
    id: started.getId(),
    exited,
    output: () => tail.toString(),
    stop: (graceSeconds = 2) => (stopping ??= remove(graceSeconds)),
    kill: () => (stopping ??= remove(undefined)),
    async pause(ms: number) {
      await freeze(() => handle.pause());
      try {
        await new Promise((resolve) => setTimeout(resolve, ms));
      } finally {
        await handle.unpause().catch(() => undefined);
      }
    },
  };

  // Ready when `ready` resolves; failed when the container stops first or the time is up.
  const deadline = Date.now() + options.startupTimeoutMs;
  let lastError: unknown;
  for (;;) {
    if (hasExited) {
      const state = await handle.inspect().catch(() => undefined);
      // Its last lines may still be on their way: wait for the log stream to end, briefly.
      await Promise.race([logsEnded, new Promise((resolve) => setTimeout(resolve, budgetShare(1 / 15)).unref())]);
      await result.kill();
      const code = state?.State?.ExitCode;
      throw new HarnessError(
        'SLAB_ERR_CONTAINER_START',
        `${options.what}: the container of ${options.image} exited${code !== undefined ? ` with code ${code}` : ''} before it was ready${quote(tail)}`,
      );
    }
    try {
      await options.ready();
      return result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      await result.kill();
      throw new HarnessError(
        'SLAB_ERR_CONTAINER_START',
        `${options.what}: the container of ${options.image} was not ready within ${options.startupTimeoutMs} ms (${(lastError as Error)?.message ?? 'no answer'}) ${budgetHint()}${quote(tail)}`,
        { cause: lastError },
      );
    }
    // Poll against the deadline, a short wait between tries.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 50))]);
  }
}

let reaper: Promise<unknown> | undefined;

/**
 * testcontainers asks for its reaper before every container it starts, and
 * until the first answer is in, each start takes a lock file shared by every
 * process on the machine (/tmp/testcontainers-node.lock, retried 0.5-1 s
 * apart): the replicas of one cluster, started at once, queued behind each
 * other. Asked once per process first, the later starts find it settled.
 * (Ryuk itself stays disabled: see ./engine.ts.)
 */
function reaperSettled(engine: Awaited<ReturnType<typeof dockerClient>>): Promise<unknown> {
  reaper ??= import('testcontainers')
    .then(({ getReaper }) => getReaper(engine))
    .catch((error: unknown) => {
      reaper = undefined;
      throw error;
    });
  return reaper;
}

/** Whether a removal left the container gone: it succeeded, or the engine has no such container (404). */
function removedFromEngine(removal: Promise<unknown>): Promise<boolean> {
  return removal.then(
    () => true,
    (error: { statusCode?: number }) => error?.statusCode === 404,
  );
}

function quote(tail: OutputTail): string {
  const text = lastLines(tail.toString());
  return text ? `; its last output:\n${text.replace(/^/gm, '  | ')}` : '; it printed nothing';
}
