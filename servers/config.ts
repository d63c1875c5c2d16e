/**
 * What the harness tells a backend process at start, as JSON in the
 * SLAB_BACKEND_CONFIG environment variable. Shared by both sides so they
 * cannot drift apart.
 */
import type { RedisTopologyConfig } from './session/replication-config.js';

export interface BackendConfig extends SessionSettings {
  /** The name the backend reports in X-Backend and its log lines, e.g. `app-2`. */
  name: string;
  store: 'memory' | 'redis';
  /** Required when store is `redis`. */
  redisUrl?: string;
  /** Redis key prefix, one per cluster. */
  keyPrefix: string;
  /** `whole`: save whole records (last writer wins); `locking`: optimistic locking (WATCH/MULTI). */
  writes: 'whole' | 'locking';
  /** The site's hostname (shop.example.test): links the server hands out point there, whatever the request's headers say. */
  site?: string;
  /** A replicated Redis (replicas, Sentinel, Cluster) instead of redisUrl. */
  redisTopology?: RedisTopologyConfig;
}

/** How the app servers of a cluster handle sessions (and links): the knobs real apps have. */
export interface SessionSettings {
  cookieName: string;
  /** Store time to live in ms. */
  ttlMs: number;
  /** Server-side idle limit in ms; 0 disables it. */
  idleTimeoutMs: number;
  /** Server-side limit since login in ms; 0 disables it. */
  absoluteTimeoutMs: number;
  /** Session cookie `Secure`: always, never, or when the request is https. */
  secureCookie: 'on' | 'off' | 'auto';
  /** Believe X-Forwarded-Proto from the balancer (Express's `trust proxy`). */
  trustProxy: boolean;
  /** Session cookie Max-Age in ms; 0 makes it a browser-session cookie. */
  cookieMaxAgeMs: number;
  /** Session cookie SameSite: lax (sent on top-level links from other sites), strict (never from other sites), none. */
  sameSite: 'lax' | 'strict' | 'none';
  /** Requests that load the session refresh its store TTL. */
  rolling: boolean;
  /** POST /profile regenerates the id; false reproduces the bug of losing the data (and login) on the way. */
  regenerateKeepsData: boolean;
  /** The scheme of the link GET /partner/link hands out, as a partner service would. */
  partnerLinkScheme: 'http' | 'https';
}

export const SESSION_DEFAULTS: Readonly<SessionSettings> = {
  cookieName: 'sid',
  ttlMs: 30 * 60_000,
  idleTimeoutMs: 0,
  absoluteTimeoutMs: 0,
  secureCookie: 'auto',
  trustProxy: true,
  cookieMaxAgeMs: 0,
  sameSite: 'lax',
  rolling: true,
  regenerateKeepsData: true,
  partnerLinkScheme: 'https',
};

export const BACKEND_CONFIG_ENV = 'SLAB_BACKEND_CONFIG';

/** The message a backend sends its parent over IPC once it listens. */
export interface ListeningMessage {
  type: 'listening';
  port: number;
}

/**
 * What the harness asks a forked backend over IPC between clusters
 * (harness/backend/warm-pool.ts): `recycle` ends its current life (server,
 * connections, store, sessions, log context) and leaves the process idle;
 * `start` begins a new life from a config, exactly as a fresh process does.
 */
export type BackendCommand = { type: 'recycle' } | { type: 'start'; config: BackendConfig };

/**
 * The stdout line a backend writes once a recycled life has ended, e.g.
 * `{"slabIdle":1}`: every log line of that life came before it, and none
 * comes after it.
 */
export const IDLE_LINE_PREFIX = '{"slabIdle":';

/** Fixed demo accounts: user name → password. */
export const DEMO_USERS: Readonly<Record<string, string>> = {
  alice: 'alice-pw',
  bob: 'bob-pw',
  carol: 'carol-pw',
  dave: 'dave-pw',
};
