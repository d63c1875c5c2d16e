/**
 * restart-backend on real processes: a restarted backend is out of rotation
 * until its new process is ready, and the history says so; overlapping
 * restarts leave no process behind. Found by an independent matrix: two
 * restarts 100 ms apart, then "no backend is up" for a second with nothing
 * in the history to say why. Invariants only: how long a restart takes is
 * the machine's business.
 */
import { describe, expect, test } from 'vitest';
import type { StartedBackend } from '../../harness/backend/backend-process.js';
import { referenceLauncher, type BackendLauncher } from '../../harness/backend/launcher.js';
import { idleBackendPids, stopIdleBackends } from '../../harness/backend/warm-pool.js';
import { startCluster } from '../../harness/cluster.js';
import type { ClusterEvent } from '../../harness/history/history.js';
import { pollUntil } from '../../harness/util/wait.js';
import { isAlive } from '../helpers/processes.js';

/** The reference server, remembering every process it started. */
function recordingLauncher(): BackendLauncher & { started: StartedBackend[] } {
  const started: StartedBackend[] = [];
  return {
    kind: referenceLauncher.kind,
    started,
    async start(spec) {
      const backend = await referenceLauncher.start(spec);
      started.push(backend);
      return backend;
    },
  };
}

/** When the history says `backend` was out of rotation: each restart to its `backend-up`. */
function downWindows(events: ClusterEvent[], backend: string): { from: number; to: number }[] {
  const windows: { from: number; to: number }[] = [];
  for (const e of events.filter((e) => e.backend === backend)) {
    if (e.kind === 'backend-restarted') windows.push({ from: e.time, to: Infinity });
    if (e.kind === 'backend-up') windows[windows.length - 1].to = e.time;
  }
  return windows;
}

describe('restart-backend on a real cluster', () => {
  test('two backends restarted close together: every "no backend is up" falls where the history has both down, and both serve again', async () => {
    await using cluster = await startCluster({ servers: 2, store: 'memory', balancer: 'round-robin' });
    const old = cluster.backends.map((b) => b.pid!);
    const answers: { sent: number; received: number; status: number; body: string }[] = [];
    let restarting = true;
    const asking = (async () => {
      while (restarting) {
        const sent = Date.now();
        const response = await fetch(`${cluster.url}/health`);
        answers.push({ sent, status: response.status, body: await response.text(), received: Date.now() });
      }
    })();
    const first = cluster.restartBackend('app-1', 'restart-backend=app-1');
    // The second restart begins while the first one's new process is starting.
    await pollUntil(async () => cluster.history.events.find((e) => e.kind === 'backend-restarted') ?? undefined, { what: 'the first restart' });
    await Promise.all([first, cluster.restartBackend('app-2', 'restart-backend=app-2')]);
    restarting = false;
    await asking;

    const events = cluster.history.events;
    expect(events.filter((e) => e.backend).map((e) => e.kind)).toEqual(expect.arrayContaining(['backend-restarted', 'backend-restarted', 'backend-up', 'backend-up']));
    const windows = ['app-1', 'app-2'].map((name) => downWindows(events, name));
    expect(windows.map((w) => w.length)).toEqual([1, 1]);
    expect(windows.every(([w]) => w.to >= w.from && w.to !== Infinity)).toBe(true);
    const allDown = { from: Math.max(windows[0][0].from, windows[1][0].from), to: Math.min(windows[0][0].to, windows[1][0].to) };
    // The balancer chose somewhere between sending and receiving: that moment must be one the history has every backend down.
    const unexplained = answers.filter((a) => a.status === 503 && !(a.sent <= allDown.to && a.received >= allDown.from));
    expect(unexplained).toEqual([]);
    expect(answers.filter((a) => a.status === 503).every((a) => a.body.includes('no backend is up'))).toBe(true);

    // Both back: new processes, the old ones gone, each answering through the balancer.
    expect(cluster.backends.map((b) => b.pid)).not.toContain(old[0]);
    expect(old.filter(isAlive)).toEqual([]);
    const seen = new Set<string>();
    await pollUntil(
      async () => {
        const response = await fetch(`${cluster.url}/health`);
        if (response.status === 200) seen.add(((await response.json()) as { backend: string }).backend);
        return seen.size === 2 ? true : undefined;
      },
      { what: 'both restarted backends answering through the balancer' },
    );
  });

  test('two overlapping restarts of one backend run in turn and leave one process for it', async () => {
    const launcher = recordingLauncher();
    await using cluster = await startCluster({ servers: 2, store: 'memory', balancer: 'round-robin', launcher });
    await Promise.all([cluster.restartBackend('app-1', 'restart-backend=app-1,at=1.3s'), cluster.restartBackend('app-1', 'restart-backend=app-1,at=1.4s')]);
    expect(cluster.history.events.filter((e) => e.backend === 'app-1').map((e) => e.kind)).toEqual(['backend-restarted', 'backend-up', 'backend-restarted', 'backend-up']);
    // Three app-1 processes were started; only the current one runs.
    const app1 = launcher.started.filter((b) => b.name === 'app-1');
    expect(app1).toHaveLength(3);
    expect(app1.filter((b) => isAlive(b.pid!)).map((b) => b.pid)).toEqual([cluster.backends[0].pid]);
    await cluster.stop();
    // The replaced app-1 processes are gone; the cluster's last ones may only wait, idle, for a next cluster (warm-pool.ts).
    expect(app1.slice(0, 2).filter((b) => isAlive(b.pid!))).toEqual([]);
    expect(launcher.started.filter((b) => isAlive(b.pid!) && !idleBackendPids().includes(b.pid!))).toEqual([]);
    await stopIdleBackends();
    expect(launcher.started.filter((b) => isAlive(b.pid!))).toEqual([]);
  });
});
