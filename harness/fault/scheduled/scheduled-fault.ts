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
  /** For faults that take a value instead of a backend (`replica-lag=50ms`): how to read it, and its default. */
  value?: { expected: string; parse(text: string): number | undefined; default: number };
  /** When the fault fires if the spec says neither at= nor after= (default: after a third of the requests). */
  defaultSchedule?: Schedule;
  /** Prepares the cluster when the run starts, before the first request (e.g. replicas that trail the primary). */
  arm?(cluster: ClusterControl, context: ScheduledFaultContext): Promise<void>;
  act(cluster: ClusterControl, context: ScheduledFaultContext): Promise<void>;
}

export interface ScheduledFaultContext {
  spec: string;
  backend: string;
  durationMs: number;
  /** The value given after `=` (or the default), for faults that take one. */
  value?: number;
}

/**
 * Also: `replicas` a store with replicas behind controllable links
 * (redis-replica-reads, -wait, redis-sentinel); `failover` a store that
 * promotes a replica (redis-sentinel, redis-cluster).
 */
export type FaultRequirement = 'redis' | 'own-redis' | 'replicas' | 'failover';

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
  arm?(cluster: ClusterControl): Promise<void>;
  act(cluster: ClusterControl): Promise<void>;
}
