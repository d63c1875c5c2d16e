import type { StartedCluster } from '../../cluster.js';

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
  act(cluster: StartedCluster, context: { spec: string; backend: string; durationMs: number }): Promise<void>;
}

export type Schedule = { atMs: number } | { afterRequests: number } | { fractionOfRequests: number };

export interface ScheduledFault {
  readonly spec: string;
  readonly name: string;
  readonly backend: string;
  readonly durationMs: number;
  readonly schedule: Schedule;
  act(cluster: StartedCluster): Promise<void>;
}
