/**
 * Backends as containers of an image, through testcontainers, on the host's
 * network: the reference server's image (`--runtime docker`) or the user's
 * own (`--app-image`).
 *
 *   harness ──▶ container app-N (network host) ── listens on 127.0.0.1:PORT
 *
 * Each replica gets PORT (a free loopback port: with host networking every
 * replica needs its own), HOST=127.0.0.1, BACKEND_ID and, when the run has a
 * Redis, REDIS_URL; the reference image also gets its whole configuration
 * (SLAB_BACKEND_CONFIG), as the forked process does. Ready when the ready
 * path answers below 400 within the start-up timeout; a replica that exits
 * first or is never ready is SLAB_ERR_CONTAINER_START (exit 3) quoting its
 * last output, a missing image SLAB_ERR_IMAGE_MISSING (exit 3).
 */
import { request } from 'node:http';
import { BACKEND_CONFIG_ENV } from '../../servers/config.js';
import { startHostContainer } from '../docker/container.js';
import { HarnessError } from '../errors.js';
import { budgetShare, timeoutBudgetMs } from '../util/budget.js';
import { freePort } from '../util/net.js';
import type { BackendLogLine, StartedBackend } from './backend-process.js';
import type { BackendLauncher, BackendSpec } from './launcher.js';
import { replicaEnv } from './replica-env.js';

export interface ContainerLauncherOptions {
  /** NAME[:TAG] of an image the engine has. */
  image: string;
  /** The image runs session-lab's reference server: it gets the run's BackendConfig. */
  reference?: boolean;
  /** Path that answers once a replica is ready (default `/health` for the reference server, `/` otherwise). */
  readyPath?: string;
  /** How long a replica may take to be ready, in ms. */
  startupTimeoutMs?: number;
  /** More environment for every replica. */
  env?: Record<string, string>;
  /** Overrides the image's command. */
  command?: string[];
  /**
   * A fixed port the app listens on (`--app-port`), for an image that does
   * not read PORT. With host networking only one replica can have it, so a
   * second replica is refused; an app that reads PORT needs none.
   */
  port?: number;
  /** Where each replica's free loopback port comes from (default: one the kernel hands out). */
  freePort?: () => Promise<number>;
}

/** GET `url`: resolves with the status, rejects when nothing answers within `timeoutMs`. */
function probe(url: string, timeoutMs: number): Promise<{ status: number; backend?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      const backend = res.headers['x-backend'];
      resolve({ status: res.statusCode ?? 0, backend: typeof backend === 'string' ? backend : undefined });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function toLogLine(backend: string, line: string): BackendLogLine {
  try {
    const parsed = JSON.parse(line) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return { backend, time: Date.now(), ...(parsed as object) } as BackendLogLine;
  } catch {
    // a plain text line
  }
  return { backend, time: Date.now(), msg: line };
}

export function containerLauncher(options: ContainerLauncherOptions): BackendLauncher {
  // Default: the run's time budget (SLAB_BUDGET_MS, --budget).
  const startupTimeoutMs = options.startupTimeoutMs ?? timeoutBudgetMs();
  if (!(Number.isFinite(startupTimeoutMs) && startupTimeoutMs > 0)) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `startupTimeoutMs: expected a positive number of ms, got ${JSON.stringify(startupTimeoutMs)}`);
  }
  if (!/^[\w][\w.\-/:@]*$/.test(options.image)) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `image: expected NAME[:TAG] of a Docker image, got ${JSON.stringify(options.image)}`);
  }
  const readyPath = options.readyPath ?? (options.reference ? '/health' : '/');
  if (!readyPath.startsWith('/')) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `readyPath: expected a path starting with /, got ${JSON.stringify(readyPath)}`);

  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0 && options.port < 65536)) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `port: expected a TCP port from 1 to 65535, got ${JSON.stringify(options.port)}`);
  }
  let fixedPortTaken = false;

  return {
    // The reference image still speaks the reference server's headers (white-box); a user's image is black-box.
    kind: options.reference ? 'reference-container' : 'container',
    async start(spec: BackendSpec): Promise<StartedBackend> {
      if (options.port !== undefined && fixedPortTaken) {
        throw new HarnessError(
          'SLAB_ERR_OPTION_INVALID',
          `app port ${options.port}: with host networking only one replica can listen on a fixed port; ${spec.name} cannot. ` +
            'Drop --app-port if the app reads PORT (each replica then gets its own), or run --servers 1.',
        );
      }
      if (options.port !== undefined) fixedPortTaken = true;
      // A free port is free when looked at: with host networking another
      // process may take it before the container binds it. The app then
      // exits with EADDRINUSE; a new port is tried (never for --app-port).
      const startOn = (port: number) => {
        const url = `http://127.0.0.1:${port}`;
        const env: Record<string, string> = {
          ...spec.env,
          ...replicaEnv(options.env, spec.name),
          PORT: String(port),
          HOST: '127.0.0.1',
          BACKEND_ID: spec.name,
        };
        if (options.reference) env[BACKEND_CONFIG_ENV] = JSON.stringify(spec.config);
        return startHostContainer({
          image: options.image,
          what: `replica ${spec.name}`,
          role: 'backend',
          env,
          command: options.command,
          onLine: (line) => spec.onLog(toLogLine(spec.name, line)),
          startupTimeoutMs,
          ready: async () => {
            // Refused: nothing listens on PORT yet — or the app listens elsewhere (a fixed port, or not on 127.0.0.1).
            const answer = await probe(url + readyPath, budgetShare(1 / 15)).catch((error: Error) => {
              throw new Error(`GET ${url}${readyPath} (PORT=${port}: the app must listen on 127.0.0.1:$PORT, or pass --app-port): ${error.message}`);
            });
            if (answer.status >= 400) throw new Error(`GET ${readyPath} answered ${answer.status}`);
            // The reference server names itself: proof that this port is this replica's.
            if (options.reference && answer.backend !== spec.name) throw new Error(`GET ${readyPath} was answered by ${answer.backend ?? 'an unknown server'}, not ${spec.name}`);
          },
        });
      };
      const nextPort = options.freePort ?? freePort;
      let port = options.port ?? (await nextPort());
      let container: Awaited<ReturnType<typeof startHostContainer>>;
      for (let attempt = 1; ; attempt++) {
        try {
          container = await startOn(port);
          break;
        } catch (error) {
          if (options.port !== undefined || attempt >= 3 || !/EADDRINUSE/.test((error as Error).message)) throw error;
          port = await nextPort();
        }
      }
      const url = `http://127.0.0.1:${port}`;
      return {
        name: spec.name,
        url,
        exited: container.exited,
        stop: () => container.stop(),
        kill: () => container.kill(),
        pause: (ms: number) => container.pause(ms),
      };
    },
  };
}
