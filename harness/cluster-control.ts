/**
 * The narrow face a running cluster shows to what acts on it during a run
 * (scheduled faults): which backends there are, the process actions, the
 * store's controls, and the history's event log. Faults depend on this,
 * not on cluster.ts, so neither imports the other.
 */
import type { ProvisionedRedis } from './redis/provision.js';
import type { StartedRedisTopology } from './redis/topology.js';
import type { ClusterEvent } from './history/history.js';

export interface ClusterControl {
  /** `app-1` … `app-N`. */
  readonly backendNames: readonly string[];
  /** SIGKILL a backend: its memory sessions are gone and the front stops sending to it. */
  killBackend(name: string, fault?: string): Promise<void>;
  /** Stop a backend and start a new one in its place, its memory sessions gone: out of rotation until the new one is ready (`backend-up`). One action at a time per backend. */
  restartBackend(name: string, fault?: string): Promise<void>;
  /** Take a backend out of rotation (new requests go elsewhere) or put it back. */
  drainBackend(name: string, drained: boolean, fault?: string): void;
  /** Freeze a backend for `ms` (SIGSTOP/SIGCONT; docker pause for a container): its requests wait, then complete. */
  pauseBackend(name: string, ms: number, fault?: string): Promise<void>;
  /** The store's Redis, when the store has one. */
  readonly redis: ProvisionedRedis | undefined;
  /** A replicated store's Redis topology (replicas, Sentinel, Cluster), for the store faults. */
  readonly topology?: StartedRedisTopology;
  /** Records something that happened to the cluster, for the diagnosis; returns the event as recorded (a fault that takes a while completes it: `lostBy`). */
  recordEvent(event: Omit<ClusterEvent, 'time'>): ClusterEvent;
}
