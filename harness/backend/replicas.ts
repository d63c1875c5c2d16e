/**
 * The app servers of one cluster and the front's view of them (targets):
 * started through the launcher, and killed, restarted, paused or drained by
 * faults. A backend that exits on its own is taken out of rotation and
 * recorded.
 *
 *   fault ──▶ kill / restart / pause (one at a time per backend) ──▶ launcher
 *                      │
 *                      └──▶ target.up, target.url (what the front routes by) + history events
 *
 * A target is up when its current process is ready and it is not drained.
 * A clean stop of a started cluster releases its backends (warm reference
 * servers serve the next cluster); killed and paused ones are never kept.
 * A restart stops the process, then starts a new one: the backend is out of
 * rotation for as long as the new process takes to be ready (on a busy
 * machine a second or more), and the history says so — `backend-restarted`
 * when it went down, `backend-up` when the new process took requests — so a
 * balancer's "no backend is up" in between is explained by the record.
 */
import type { BalancerTarget } from '../balancer/strategy.js';
import { HarnessError } from '../errors.js';
import type { ClusterEvent } from '../history/history.js';
import type { StartedBackend } from './backend-process.js';
import type { BackendLauncher, BackendSpec } from './launcher.js';

export class Replicas {
  readonly backends: StartedBackend[] = [];
  readonly targets: BalancerTarget[] = [];
  /** Set once the cluster stops: exits from then on are expected. */
  stopped = false;
  /**
   * Set once the cluster is up: a clean stop from then on releases each
   * backend (a healthy reference server goes back to the warm pool,
   * warm-pool.ts) instead of stopping it. A cluster failing to start kills
   * what it started.
   */
  recycle = false;
  readonly #specs = new Map<string, BackendSpec>();
  readonly #expectedExits = new Set<StartedBackend>();
  /** Backends whose process is not ready: killed, exited, or between the two processes of a restart. */
  readonly #down = new Set<string>();
  /** Backends a fault took out of rotation; a restart does not put them back. */
  readonly #drained = new Set<string>();
  /**
   * The process action (kill, restart, pause) in progress per backend: the
   * next one waits for it. Two overlapping restarts of one backend would
   * otherwise both stop the same old process and each start a new one, and
   * the first new one would run on, unstopped, behind nothing.
   */
  readonly #actions = new Map<string, Promise<void>>();
  /** Restarts in progress: stopAll waits for them, as each may still start a process. */
  readonly #restarts = new Set<Promise<void>>();

  constructor(
    readonly launcher: BackendLauncher,
    readonly recordEvent: (event: Omit<ClusterEvent, 'time'>) => ClusterEvent,
  ) {}

  async startAll(specs: BackendSpec[]): Promise<void> {
    for (const spec of specs) this.#specs.set(spec.name, spec);
    const started = await Promise.allSettled(specs.map((spec) => this.#startOne(spec)));
    for (const result of started) if (result.status === 'fulfilled') this.backends.push(result.value);
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    this.targets.push(...this.backends.map((backend, index) => ({ name: backend.name, url: backend.url, index, up: true, inFlight: 0 })));
  }

  async #startOne(spec: BackendSpec): Promise<StartedBackend> {
    const backend = await this.launcher.start(spec);
    void backend.exited.then(() => {
      // Only the process behind the target now takes it out of rotation: one a
      // restart replaced may be reaped after its successor is up (on the same
      // port, even), and must not take the successor down with it.
      if (this.backends.includes(backend)) this.#setDown(backend.name, true);
      if (!this.stopped && !this.#expectedExits.delete(backend)) this.recordEvent({ kind: 'backend-exited', backend: backend.name });
    });
    return backend;
  }

  #setDown(name: string, down: boolean): void {
    if (down) this.#down.add(name);
    else this.#down.delete(name);
    this.#refresh(name);
  }

  #refresh(name: string): void {
    const target = this.targets.find((t) => t.name === name);
    if (target) target.up = !this.#down.has(name) && !this.#drained.has(name);
  }

  #find(name: string) {
    const index = this.backends.findIndex((backend) => backend.name === name);
    if (index < 0) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `backend: expected one of ${this.backends.map((b) => b.name).join(', ')}, got ${JSON.stringify(name)}`);
    return { index, backend: this.backends[index] };
  }

  /** Runs `action` on backend `name` once every earlier action on it has settled. */
  #oneAtATime(name: string, action: () => Promise<void>): Promise<void> {
    this.#find(name);
    const previous = this.#actions.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(action);
    this.#actions.set(name, next);
    return next;
  }

  async kill(name: string, fault?: string): Promise<void> {
    return this.#oneAtATime(name, async () => {
      const { backend } = this.#find(name);
      // Recorded when it goes down, before the process is reaped: requests from then on see it gone.
      this.#setDown(name, true);
      this.recordEvent({ kind: 'backend-killed', backend: name, fault, detail: `${name} killed (SIGKILL)` });
      this.#expectedExits.add(backend);
      await backend.kill();
    });
  }

  async restart(name: string, fault?: string): Promise<void> {
    const restarting = this.#oneAtATime(name, async () => {
      // Queued behind another action and the cluster stopped meanwhile: no new process.
      if (this.stopped) return;
      const { index, backend } = this.#find(name);
      const began = Date.now();
      this.#setDown(name, true);
      // Behind nginx or HAProxy (which do not read target.up) a request may still reach the old
      // process until it has stopped: the restart is under way until then, and says when it was over.
      const event = this.recordEvent({
        kind: 'backend-restarted',
        backend: name,
        fault,
        detail: `${name} restarted: its process stopped, a new one starting (its memory empty); out of rotation until it is ready`,
        ongoing: true,
      });
      this.#expectedExits.add(backend);
      try {
        await backend.stop();
      } finally {
        event.lostBy = Date.now();
        delete event.ongoing;
      }
      // A new process, never a warm one: a restart is about losing what the process held.
      const fresh = await this.#startOne({ ...this.#specs.get(name)!, fresh: true });
      if (this.stopped) {
        // The cluster stopped while the new process started: it goes too.
        this.#expectedExits.add(fresh);
        await fresh.stop();
        return;
      }
      this.backends[index] = fresh;
      const target = this.targets.find((t) => t.name === name);
      if (target) target.url = fresh.url;
      this.recordEvent({ kind: 'backend-up', backend: name, fault, detail: `${name} up again: a new process, ready ${Date.now() - began} ms after the restart began` });
      this.#setDown(name, false);
    });
    const tracked = restarting.catch(() => undefined);
    this.#restarts.add(tracked);
    void tracked.then(() => this.#restarts.delete(tracked));
    return restarting;
  }

  async pause(name: string, ms: number, fault?: string): Promise<void> {
    const { backend } = this.#find(name);
    if (!backend.pause) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${fault ?? 'pause-backend'}: backends started by the ${this.launcher.kind} launcher cannot be paused`);
    return this.#oneAtATime(name, async () => {
      const { backend: current } = this.#find(name);
      this.recordEvent({ kind: 'backend-paused', backend: name, fault, detail: `${name} frozen for ${ms} ms` });
      await current.pause!(ms);
    });
  }

  drain(name: string, drained: boolean, fault?: string): void {
    this.#find(name);
    if (drained) this.#drained.add(name);
    else this.#drained.delete(name);
    this.#refresh(name);
    this.recordEvent({ kind: drained ? 'backend-drained' : 'backend-undrained', backend: name, fault, detail: `${name} ${drained ? 'taken out of rotation' : 'back in rotation'}` });
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.backends.map((backend) => (this.recycle && backend.release ? backend.release() : backend.stop())), ...this.#restarts]);
  }
}
