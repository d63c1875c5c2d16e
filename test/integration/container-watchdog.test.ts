/**
 * The container watchdog (harness/docker/watchdog.ts, watchdog-main.ts):
 * after a clean shutdown — the harness removed its containers itself and said
 * "clean" on the pipe — it exits 0 without loading a Docker client; in every
 * other case (containers left at a normal exit, SIGKILL mid-run) it sweeps.
 *
 * What the watchdog did is read from the stderr it shares with its harness:
 * the test reads that pipe until it closes, which is when the watchdog has
 * finished too. To prove a clean shutdown's watchdog did not sweep, the
 * harness hands its watchdog an engine address that does not exist (its own
 * Docker client is already connected): any sweep would say so there.
 *
 * Every test has a watchdog (and a harness) of its own, with its own owner
 * id: they run side by side.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { describe, expect, test } from 'vitest';
import { WATCHDOG_SCRIPT } from '../../harness/docker/watchdog.js';
import { timeoutBudgetMs } from '../../harness/util/budget.js';
import { BASE_IMAGE, describeDocker, dockerCli } from '../helpers/docker.js';

const NO_ENGINE = 'unix:///nonexistent/session-lab/docker.sock';

/** Runs the watchdog program alone, the test as its harness: says `words`, closes the pipe. */
async function watchdogAlone(words: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [WATCHDOG_SCRIPT, `test-${process.pid}-alone`], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  for (const word of words) child.stdin.write(`${word}\n`);
  child.stdin.end();
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stderr };
}

type Mode = 'clean' | 'left' | 'killed';

/**
 * A harness process that starts a container through the library and then:
 * clean — stops it and exits; left — exits with it still running;
 * killed — stops it, starts another and waits to be killed.
 */
function harness(mode: Mode) {
  const dist = (file: string) => JSON.stringify(pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'harness', file)).href);
  const script = `
    const { dockerClient } = await import(${dist('docker/engine.js')});
    const { startHostContainer } = await import(${dist('docker/container.js')});
    const { OWNER_ID } = await import(${dist('docker/watchdog.js')});
    await dockerClient();
    // The watchdog starts with the first container and takes this environment: the engine is gone for it.
    if (${JSON.stringify(mode)} === 'clean') process.env.DOCKER_HOST = ${JSON.stringify(NO_ENGINE)};
    const start = () => startHostContainer({ image: ${JSON.stringify(BASE_IMAGE)}, what: 'idle', role: 'test', command: ['node', '-e', 'setInterval(() => {}, 1000)'], ready: async () => {}, startupTimeoutMs: ${timeoutBudgetMs()} });
    const first = await start();
    if (${JSON.stringify(mode)} !== 'left') await first.stop(0);
    if (${JSON.stringify(mode)} === 'killed') await start();
    console.log(OWNER_ID);
    if (${JSON.stringify(mode)} !== 'killed') process.exit(0);
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const owner = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => setImmediate(() => reject(new Error(`the harness exited with ${code} before saying its owner id: ${stderr}`))));
  });
  // Closed when the harness AND its watchdog (which shares the harness's stderr) have both finished.
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })));
  return { child, owner, closed };
}

const containersOf = async (owner: string) => (await dockerCli('ps', '-aq', '--filter', `label=session-lab.owner=${owner}`)).split('\n').filter(Boolean);

describe.concurrent('the container watchdog, side by side', () => {
  describe('the watchdog program', () => {
    test('told "clean" before its pipe closes, it exits 0 without contacting the engine', async () => {
      const result = await watchdogAlone(['dirty', 'clean'], { DOCKER_HOST: NO_ENGINE });
      expect(result).toEqual({ code: 0, stderr: '' });
    });

    test('its pipe closing with no word said, it sweeps: here it finds no engine and says so', async () => {
      // The contrast that gives the test above its meaning ("dirty" after "clean" is the SIGKILL case below).
      const result = await watchdogAlone([], { DOCKER_HOST: NO_ENGINE });
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('session-lab container watchdog: runtime docker: no Docker engine answers at DOCKER_HOST=' + NO_ENGINE);
    });
  });

  describeDocker('the watchdog with a real harness', () => {
    test('clean shutdown: the harness removed its container; its watchdog exits having swept nothing, without a Docker client', async () => {
      const run = harness('clean');
      const owner = await run.owner;
      const { code, stderr } = await run.closed;
      expect(code, stderr).toBe(0);
      // Had it swept, it would have said that no engine answers at NO_ENGINE.
      expect(stderr).not.toContain('container watchdog');
      expect(await containersOf(owner)).toEqual([]);
    });

    test('a normal exit with a container still running: the watchdog removes it (clean is said only when nothing is left)', async () => {
      const run = harness('left');
      const owner = await run.owner;
      const { code, stderr } = await run.closed;
      expect(code, stderr).toBe(0);
      expect(stderr).toContain(`session-lab container watchdog: removed 1 container(s) that harness ${owner} left behind`);
      expect(await containersOf(owner)).toEqual([]);
    });

    test('SIGKILL mid-run, after a clean moment and a new container: the watchdog removes it', async () => {
      const run = harness('killed');
      const owner = await run.owner;
      expect(await containersOf(owner)).toHaveLength(1);
      run.child.kill('SIGKILL');
      const { signal, stderr } = await run.closed;
      expect(signal).toBe('SIGKILL');
      expect(stderr).toContain(`removed 1 container(s) that harness ${owner} left behind`);
      expect(await containersOf(owner)).toEqual([]);
    });
  });
});
