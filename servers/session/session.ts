import type { IncomingMessage } from 'node:http';
import { parseCookie, stringifySetCookie } from 'cookie';
import { newSessionId } from './session-id.js';
import type { SessionRecord, SessionStore } from './store.js';

/**
 * How this backend saw the session on one request. It is reported on every
 * response (X-Session-Status) and in the backend's log line, and it is the
 * backend's side of the evidence the diagnosis works from.
 *
 * - none:       no id arrived (and none was needed)
 * - created:    no id arrived; a new session was created
 * - loaded:     the id arrived and the store had it
 * - unknown-id: an id arrived that the store does not have (a new one is issued)
 * - expired:    the store had it, but past the server's idle/absolute limit
 * - destroyed:  this request destroyed the session (logout)
 */
export type SessionStatus = 'none' | 'created' | 'loaded' | 'unknown-id' | 'expired' | 'destroyed';

export interface SessionOptions {
  cookieName: string;
  /** Store time to live, refreshed on every request that loads the session. */
  ttlMs: number;
  /** Server-side idle limit; 0 disables it. */
  idleTimeoutMs: number;
  /** Server-side limit since login; 0 disables it. */
  absoluteTimeoutMs: number;
  /** Add `Secure` to the session cookie. */
  secureCookie: boolean;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** One request's view of its session: load on begin, change freely, commit once. */
export class Session {
  status: SessionStatus;
  /** The id the client sent, if any. */
  readonly incomingId: string | undefined;
  id: string | undefined;
  record: SessionRecord | undefined;
  #dirty = false;
  #issued = false;
  #cleared = false;
  readonly #store: SessionStore;
  readonly #options: SessionOptions;

  constructor(store: SessionStore, options: SessionOptions, incomingId: string | undefined) {
    this.#store = store;
    this.#options = options;
    this.incomingId = incomingId;
    this.id = undefined;
    this.record = undefined;
    this.status = 'none';
  }

  /** Loads the session the cookie names, noting why it could not when it could not. */
  async load(now: number): Promise<void> {
    const id = this.incomingId;
    if (id === undefined) return;
    const record = ID_PATTERN.test(id) ? await this.#store.get(id) : undefined;
    if (!record) {
      this.status = 'unknown-id';
      return;
    }
    const { idleTimeoutMs, absoluteTimeoutMs } = this.#options;
    const idleExpired = idleTimeoutMs > 0 && now - record.lastSeenAt > idleTimeoutMs;
    const absoluteExpired = absoluteTimeoutMs > 0 && record.loginAt !== undefined && now - record.loginAt > absoluteTimeoutMs;
    if (idleExpired || absoluteExpired) {
      this.status = 'expired';
      await this.#store.destroy(id);
      return;
    }
    this.status = 'loaded';
    this.id = id;
    this.record = record;
    record.lastSeenAt = now;
    this.#dirty = true;
  }

  /** Makes sure there is a session, creating one as a first visit does. */
  ensure(now: number): SessionRecord {
    if (this.record) return this.record;
    this.id = newSessionId();
    this.record = { createdAt: now, lastSeenAt: now, data: {} };
    if (this.status === 'none') this.status = 'created';
    this.#dirty = true;
    this.#issued = true;
    return this.record;
  }

  /** A new id for the same data (fixation defence on login); the old id is destroyed. */
  async regenerate(now: number): Promise<SessionRecord> {
    const record = this.ensure(now);
    if (this.id && !this.#issued) await this.#store.destroy(this.id);
    this.id = newSessionId();
    this.#issued = true;
    this.#dirty = true;
    return record;
  }

  /** Ends the session server-side and tells the client to drop its cookie. */
  async destroy(): Promise<void> {
    if (this.id) await this.#store.destroy(this.id);
    this.status = 'destroyed';
    this.id = undefined;
    this.record = undefined;
    this.#dirty = false;
    this.#cleared = true;
  }

  markChanged(): void {
    this.#dirty = true;
  }

  /** Saves what changed; returns the Set-Cookie header to send, if any. */
  async commit(): Promise<string | undefined> {
    const { cookieName, ttlMs, secureCookie } = this.#options;
    const attributes = { path: '/', httpOnly: true, sameSite: 'lax', secure: secureCookie } as const;
    if (this.#cleared) return stringifySetCookie({ name: cookieName, value: '', maxAge: 0, ...attributes });
    if (!this.id || !this.record) return undefined;
    if (this.#dirty) await this.#store.set(this.id, this.record, ttlMs);
    return this.#issued ? stringifySetCookie({ name: cookieName, value: this.id, ...attributes }) : undefined;
  }
}

export class SessionManager {
  readonly store: SessionStore;
  readonly options: SessionOptions;

  constructor(store: SessionStore, options: SessionOptions) {
    this.store = store;
    this.options = options;
  }

  async begin(req: IncomingMessage, now: number): Promise<Session> {
    const session = new Session(this.store, this.options, req.headers.cookie ? parseCookie(req.headers.cookie)[this.options.cookieName] : undefined);
    await session.load(now);
    return session;
  }
}
