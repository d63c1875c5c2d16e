/**
 * The session store seam: every store keeps whole session records keyed by
 * id, each with a time to live. The session layer (session.ts) never knows
 * which store it talks to.
 */
import type { StoreTrace } from './replication-config.js';

export interface SessionRecord {
  /** Epoch ms when the session was created. */
  createdAt: number;
  /** Epoch ms of the last request that loaded the session. */
  lastSeenAt: number;
  /** Logged-in user name, absent for an anonymous session. */
  user?: string;
  /** Epoch ms of the login, for absolute timeouts. */
  loginAt?: number;
  /** Application data (cart items and the like). */
  data: Record<string, unknown>;
}

/**
 * `trace`, when given, receives where the store served the call: the Redis
 * node and its replication position (replicated-redis-store.ts); the other
 * stores leave it empty.
 */
export interface SessionStore {
  /** Which kind of store, as named on the command line. */
  readonly kind: 'memory' | 'redis';
  get(id: string, trace?: StoreTrace): Promise<SessionRecord | undefined>;
  set(id: string, record: SessionRecord, ttlMs: number, trace?: StoreTrace): Promise<void>;
  destroy(id: string, trace?: StoreTrace): Promise<void>;
  /** Extends the time to live without rewriting the record. */
  touch(id: string, ttlMs: number): Promise<void>;
  /**
   * Read-modify-write as one atomic step: `apply` gets the current record
   * and changes it in place. A record that is gone stays gone (`'gone'`):
   * an update never brings a destroyed session back.
   */
  update(id: string, apply: (record: SessionRecord) => void, ttlMs: number): Promise<'written' | 'gone'>;
  close(): Promise<void>;
}
