/**
 * What the harness tells a backend process at start, as JSON in the
 * SLAB_BACKEND_CONFIG environment variable. Shared by both sides so they
 * cannot drift apart.
 */
export interface BackendConfig {
  /** The name the backend reports in X-Backend and its log lines, e.g. `app-2`. */
  name: string;
  store: 'memory' | 'redis';
  /** Required when store is `redis`. */
  redisUrl?: string;
  /** Redis key prefix, one per cluster. */
  keyPrefix: string;
  cookieName: string;
  ttlMs: number;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  secureCookie: boolean;
}

export const BACKEND_CONFIG_ENV = 'SLAB_BACKEND_CONFIG';

/** The message a backend sends its parent over IPC once it listens. */
export interface ListeningMessage {
  type: 'listening';
  port: number;
}

/** Fixed demo accounts: user name → password. */
export const DEMO_USERS: Readonly<Record<string, string>> = {
  alice: 'alice-pw',
  bob: 'bob-pw',
  carol: 'carol-pw',
  dave: 'dave-pw',
};
