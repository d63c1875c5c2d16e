/**
 * Does a Docker engine answer? Tests that need one use `describeDocker`:
 *
 *   - engine answers            → the tests run;
 *   - no engine, CI=true        → one failing test saying what is missing
 *                                 (.ci/run starts the engine, so this is a bug);
 *   - no engine, outside CI     → skipped, with a loud message saying how to
 *                                 start one (docker/engine.sh start).
 *
 * When DOCKER_HOST is unset and the default private engine of
 * docker/engine.sh answers, its environment is adopted, so
 * `docker/engine.sh start && npm test` works without an eval.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';
import { timeoutBudgetMs } from '../../harness/util/budget.js';

export const DEFAULT_ENGINE_SOCKET = '/tmp/session-lab-docker/docker.sock';
export const BASE_IMAGE = 'session-lab/base:local';

export interface DockerProbe {
  ok: boolean;
  /** The DOCKER_HOST probed. */
  host: string;
  /** Why the engine is not usable, when it is not. */
  reason?: string;
}

// A busy engine on a loaded machine answers late, not never: the whole budget
// (an absent engine refuses at once, so this costs nothing without one).
function ping(host: string, timeoutMs = timeoutBudgetMs()): Promise<void> {
  return new Promise((resolve, reject) => {
    const target = host.startsWith('unix://')
      ? { socketPath: host.slice('unix://'.length) }
      : (() => {
          const url = new URL(host.replace(/^tcp:/, 'http:'));
          return { host: url.hostname, port: Number(url.port) };
        })();
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(new Error(`/_ping answered ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function probe(): Promise<DockerProbe> {
  const given = process.env.DOCKER_HOST;
  const host = given ?? `unix://${DEFAULT_ENGINE_SOCKET}`;
  try {
    await ping(host);
  } catch (error) {
    return {
      ok: false,
      host,
      reason: `no Docker engine answers at ${given ? `DOCKER_HOST=${given}` : host} (${(error as Error).message})`,
    };
  }
  if (!given) {
    process.env.DOCKER_HOST = host;
    process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  }
  return { ok: true, host };
}

/** Probed once per test file. */
export const docker: DockerProbe = await probe();

const HOW_TO = 'start the private engine with `eval "$(docker/engine.sh start)"` (needs root and Debian\'s docker.io), then run the tests again';

/** `describe` for tests that need a Docker engine: fails in CI without one, skips loudly elsewhere. */
export function describeDocker(name: string, body: () => void): void {
  if (docker.ok) {
    describe(name, body);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it('needs a Docker engine', () => {
        throw new Error(`${docker.reason}: CI must start one (.ci/run runs docker/engine.sh start)`);
      });
    });
    return;
  }
  process.stderr.write(`\n!!! SKIPPED "${name}": ${docker.reason}. To run these tests, ${HOW_TO}.\n\n`);
  describe.skip(name, body);
}

const run = promisify(execFile);

/** Runs the docker CLI against the probed engine. */
export async function dockerCli(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { env: { ...process.env, DOCKER_HOST: docker.host }, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Every container the engine has, running or not (`docker ps -a`), as ids. */
export async function allContainers(): Promise<string[]> {
  return (await dockerCli('ps', '-aq'))
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/**
 * The containers of the harness process `pid` (a CLI the test started, or
 * this worker): every container session-lab starts carries a
 * `session-lab.owner` label that begins with its harness's pid
 * (harness/docker/watchdog.ts, OWNER_ID). Scoped to one process, so tests
 * running side by side (and other test files on the same engine) do not see
 * each other's containers.
 */
export async function containersOfProcess(pid: number): Promise<string[]> {
  const rows = (await dockerCli('ps', '-a', '--filter', 'label=session-lab.owner', '--format', '{{.ID}} {{.Label "session-lab.owner"}}')).split('\n');
  return rows
    .map((row) => row.trim().split(' '))
    .filter(([id, owner]) => id && owner?.startsWith(`${pid}-`))
    .map(([id]) => id);
}

/** Polls until the harness process `pid` has no container left, within the budget; the ids still there at the deadline. */
export async function noContainersLeftBy(pid: number, timeoutMs = timeoutBudgetMs()): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let left = await containersOfProcess(pid);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = await containersOfProcess(pid);
  }
  return left;
}

/**
 * The containers of `owner` (an OWNER_ID) whose environment holds `entry`
 * (NAME=value): one test's containers when several tests of one process
 * start containers side by side, each giving its own a marker variable.
 */
export async function containersWithEnv(owner: string, entry: string): Promise<string[]> {
  const ids = (await dockerCli('ps', '-aq', '--filter', `label=session-lab.owner=${owner}`)).split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  let listing: string;
  try {
    listing = await dockerCli('inspect', '--format', '{{.Id}} {{json .Config.Env}}', ...ids);
  } catch (error) {
    // A container removed between the listing and the inspection: the others are still printed.
    listing = (error as { stdout?: string }).stdout ?? '';
  }
  return listing
    .split('\n')
    .filter(Boolean)
    .filter((row) => (JSON.parse(row.slice(row.indexOf(' ') + 1)) as string[]).includes(entry))
    .map((row) => row.slice(0, 12));
}
