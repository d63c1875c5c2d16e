/**
 * The cluster's bookkeeping of its backends (backend/replicas.ts) under
 * restarts, with a launcher of fake processes whose start and exit the test
 * releases itself: no processes, no sockets, no clock.
 *
 * Guards what a matrix run found (two restart-backend faults 100 ms apart,
 * then every request answered "no backend is up" with nothing in the
 * history to say why): a restarted backend is out of rotation until its new
 * process is ready, and the history records when it came back.
 */
import { describe, expect, test } from 'vitest';
import type { StartedBackend } from '../../harness/backend/backend-process.js';
import type { BackendLauncher, BackendSpec } from '../../harness/backend/launcher.js';
import { Replicas } from '../../harness/backend/replicas.js';
import { SESSION_DEFAULTS } from '../../servers/config.js';
import type { ClusterEvent } from '../../harness/history/history.js';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}
const deferred = (): Deferred => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

/** A process the test controls: `ready` lets its start finish; `reaped` (when held) delays its exit after stop. */
interface FakeProcess extends StartedBackend {
  stopped: boolean;
  ready: Deferred;
  /** Resolves `exited`; stop() calls it unless the test holds the exit back. */
  reap(): void;
}

function fakeLauncher(options: { holdExit?: boolean; port?: (name: string, nth: number) => number } = {}) {
  const processes: FakeProcess[] = [];
  /** Resolves when the launcher is asked for the k-th process (from 1). */
  const asked: Deferred[] = [];
  const askedFor = (k: number) => (asked[k - 1] ??= deferred()).promise;
  let releaseAll = true;
  const launcher: BackendLauncher = {
    kind: 'fake',
    async start(spec: BackendSpec) {
      const nth = processes.filter((p) => p.name === spec.name).length;
      const exit = deferred();
      const ready = deferred();
      const port = options.port?.(spec.name, nth) ?? 40000 + processes.length;
      const process: FakeProcess = {
        name: spec.name,
        url: `http://127.0.0.1:${port}`,
        exited: exit.promise,
        stopped: false,
        ready,
        reap: () => exit.resolve(),
        async stop() {
          process.stopped = true;
          if (!options.holdExit) exit.resolve();
        },
        async kill() {
          process.stopped = true;
          exit.resolve();
        },
      };
      processes.push(process);
      (asked[processes.length - 1] ??= deferred()).resolve();
      if (releaseAll) ready.resolve();
      await ready.promise;
      return process;
    },
  };
  return {
    launcher,
    processes,
    askedFor,
    /** From now on each start waits for the test's `ready.resolve()`. */
    holdStarts: () => (releaseAll = false),
  };
}

const spec = (index: number): BackendSpec => {
  const name = `app-${index + 1}`;
  return { name, index, config: { ...SESSION_DEFAULTS, store: 'memory', writes: 'whole', keyPrefix: '', name, site: 'shop.example.test' }, env: {}, onLog: () => {} };
};

async function started(servers: number, options?: Parameters<typeof fakeLauncher>[0]) {
  const fake = fakeLauncher(options);
  const events: ClusterEvent[] = [];
  const replicas = new Replicas(fake.launcher, (event) => {
    events.push({ ...event, time: Date.now() });
    return events.at(-1)!;
  });
  await replicas.startAll(Array.from({ length: servers }, (_, i) => spec(i)));
  const target = (name: string) => replicas.targets.find((t) => t.name === name)!;
  return { ...fake, replicas, events, target, kinds: () => events.map((e) => `${e.kind} ${e.backend}`) };
}

describe('restart-backend: what the front routes by and what the history says', () => {
  test('a restarted backend is out of rotation until its new process is ready, and the history records both ends', async () => {
    const { replicas, processes, askedFor, holdStarts, target, kinds } = await started(2);
    holdStarts();
    const restarting = replicas.restart('app-1', 'restart-backend=app-1');
    await askedFor(3);
    // The old process is stopped, the new one not ready: down, and the history says it went down.
    expect(processes[0].stopped).toBe(true);
    expect(target('app-1').up).toBe(false);
    expect(target('app-2').up).toBe(true);
    expect(kinds()).toEqual(['backend-restarted app-1']);
    processes[2].ready.resolve();
    await restarting;
    expect(target('app-1')).toMatchObject({ up: true, url: processes[2].url });
    expect(replicas.backends[0]).toBe(processes[2]);
    expect(kinds()).toEqual(['backend-restarted app-1', 'backend-up app-1']);
  });

  test('two backends restarted close together (the matrix case): both down at once while their new processes start, both up after, each end recorded', async () => {
    const { replicas, processes, askedFor, holdStarts, target, kinds } = await started(2);
    holdStarts();
    const first = replicas.restart('app-1');
    await askedFor(3);
    const second = replicas.restart('app-2');
    await askedFor(4);
    // Every backend is down: a balancer's "no backend is up" now is what the history shows.
    expect(replicas.targets.map((t) => t.up)).toEqual([false, false]);
    expect(kinds()).toEqual(['backend-restarted app-1', 'backend-restarted app-2']);
    processes[3].ready.resolve();
    await second;
    expect([target('app-1').up, target('app-2').up]).toEqual([false, true]);
    processes[2].ready.resolve();
    await first;
    expect(replicas.targets.map((t) => t.up)).toEqual([true, true]);
    expect(kinds()).toEqual(['backend-restarted app-1', 'backend-restarted app-2', 'backend-up app-2', 'backend-up app-1']);
  });

  test('the old process reaped after its successor is up, on the same port, does not take the successor out of rotation', async () => {
    // A container is reaped after `docker stop` returns; the kernel may hand the new one the same port.
    const { replicas, processes, target, events } = await started(1, { holdExit: true, port: () => 40001 });
    await replicas.restart('app-1');
    expect(target('app-1')).toMatchObject({ up: true, url: 'http://127.0.0.1:40001' });
    processes[0].reap();
    await processes[0].exited;
    await Promise.resolve();
    expect(target('app-1').up).toBe(true);
    // An expected exit, not a crash.
    expect(events.map((e) => e.kind)).not.toContain('backend-exited');
  });

  test('the current process exiting on its own takes its target out and is recorded', async () => {
    const { replicas, processes, target, kinds } = await started(2);
    await replicas.restart('app-2');
    processes[2].reap();
    await processes[2].exited;
    await Promise.resolve();
    expect(target('app-2').up).toBe(false);
    expect(kinds()).toEqual(['backend-restarted app-2', 'backend-up app-2', 'backend-exited app-2']);
  });

  test('two overlapping restarts of one backend run one after the other, and leave no process running behind nothing', async () => {
    const { replicas, processes, askedFor, holdStarts, target, kinds } = await started(2);
    holdStarts();
    const first = replicas.restart('app-1');
    await askedFor(3);
    const second = replicas.restart('app-1');
    processes[2].ready.resolve();
    await first;
    await askedFor(4);
    processes[3].ready.resolve();
    await second;
    expect(processes.map((p) => `${p.name} ${p.stopped ? 'stopped' : 'running'}`)).toEqual(['app-1 stopped', 'app-2 running', 'app-1 stopped', 'app-1 running']);
    expect(target('app-1')).toMatchObject({ up: true, url: processes[3].url });
    expect(kinds()).toEqual(['backend-restarted app-1', 'backend-up app-1', 'backend-restarted app-1', 'backend-up app-1']);
  });

  test('a drained backend stays out of rotation across a restart, and comes back when undrained', async () => {
    const { replicas, target } = await started(2);
    replicas.drain('app-1', true);
    await replicas.restart('app-1');
    expect(target('app-1').up).toBe(false);
    replicas.drain('app-1', false);
    expect(target('app-1').up).toBe(true);
  });

  test('undraining a backend in the middle of its restart does not route to the stopped process', async () => {
    const { replicas, processes, askedFor, holdStarts, target } = await started(2);
    replicas.drain('app-1', true);
    holdStarts();
    const restarting = replicas.restart('app-1');
    await askedFor(3);
    replicas.drain('app-1', false);
    expect(target('app-1').up).toBe(false);
    processes[2].ready.resolve();
    await restarting;
    expect(target('app-1').up).toBe(true);
  });

  test('stopping the cluster while a restart starts its new process stops that process too', async () => {
    const { replicas, processes, askedFor, holdStarts } = await started(2);
    holdStarts();
    const restarting = replicas.restart('app-1');
    await askedFor(3);
    const stopping = replicas.stopAll();
    processes[2].ready.resolve();
    await Promise.all([restarting, stopping]);
    expect(processes.every((p) => p.stopped)).toBe(true);
  });

  test('an unknown backend is refused with its name, before anything happens', async () => {
    const { replicas, kinds } = await started(2);
    await expect(replicas.restart('app-7')).rejects.toMatchObject({ code: 'SLAB_ERR_OPTION_INVALID', message: expect.stringContaining('"app-7"') });
    expect(kinds()).toEqual([]);
  });
});
