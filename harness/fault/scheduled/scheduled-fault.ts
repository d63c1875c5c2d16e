import type { ClusterControl } from '../../cluster-control.js';

/**
 * A fault that happens to the cluster during a run rather than to each
 * request: a process action (kill, restart, drain, pause), fired once on a
 * schedule — at a time since the run started, or after the k-th request.
 * Every one is recorded in the history, so the diagnosis can name it.
 */
export interface ScheduledFaultDefinition {
  name: string;
  usage: string;
  description: string;
  /** Whether it takes a backend name (default app-1). */
  takesBackend: boolean;
  /** For faults that last (pause, slow, drain): default duration in ms. */
  defaultDurationMs?: number;
  /**
   * What the cluster must have for the fault to act, checked before the
   * first request: `redis` a Redis store; `own-redis` one that session-lab
   * started itself (not REDIS_URL), since the fault kills or restarts it.
   */
  requires?: readonly FaultRequirement[];
  act(cluster: ClusterControl, context: { spec: string; backend: string; durationMs: number }): Promise<void>;
}

export type FaultRequirement = 'redis' | 'own-redis';

export type Schedule = { atMs: number } | { afterRequests: number } | { fractionOfRequests: number };

export interface ScheduledFault {
  readonly spec: string;
  readonly name: string;
  readonly backend: string;
  readonly durationMs: number;
  readonly schedule: Schedule;
  /** What the cluster must have; see ScheduledFaultDefinition.requires. */
  readonly requires: readonly FaultRequirement[];
  readonly takesBackend: boolean;
  act(cluster: ClusterControl): Promise<void>;
}
