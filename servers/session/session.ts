import type { IncomingMessage } from 'node:http';
import { parseCookie, stringifySetCookie } from 'cookie';
import { newSessionId } from './session-id.js';
import type { StoreTrace } from './replication-config.js';
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

/** What the request did to the store, reported as X-Session-Write. */
export type StoreWrite = 'set' | 'touch' | 'destroy' | 'none';

/**
 * Whether the session cookie went out, reported as X-Session-Cookie.
 * `withheld-insecure`: the cookie must be Secure and the request looked
 * like plain http, so it was not sent (express-session's behaviour with
 * `cookie.secure` behind a proxy it does not trust: expressjs/session #281).
 */
export type CookieOutcome = 'sent' | 'withheld-insecure' | 'cleared' | 'none';

export interface SessionOptions {
  cookieName: string;
  /** Store time to live. */
  ttlMs: number;
  /** Server-side idle limit; 0 disables it. */
  idleTimeoutMs: number;
  /** Server-side limit since login; 0 disables it. */
  absoluteTimeoutMs: number;
  /** `on`: always Secure; `auto`: Secure when the request is https; `off`: never. */
  secureCookie: 'on' | 'off' | 'auto';
  /** Cookie Max-Age; 0 makes it a browser-session cookie. */
  cookieMaxAgeMs: number;
  /** The session cookie's SameSite attribute (default lax). */
  sameSite?: 'lax' | 'strict' | 'none';
  /** Every request that loads the session refreshes its store TTL (and cookie Max-Age). */
  rolling: boolean;
  /**
   * `whole`: save the record as loaded and changed (last writer wins).
   * `locking`: replay this request's changes on the stored record in one
   * atomic update, so concurrent requests lose nothing and a destroyed
   * session is not written back.
   */
  writes: 'whole' | 'locking';
}

export interface CommitResult {
  setCookies: string[];
  write: StoreWrite;
  cookie: CookieOutcome;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** One request's view of its session: load on begin, change freely, commit once. */
export class Session {
  status: SessionStatus;
  /** The id the client sent, if any. */
  readonly incomingId: string | undefined;
  id: string | undefined;
  record: SessionRecord | undefined;
  /** Which limit an `expired` session passed. */
  expiredBy: 'idle' | 'absolute' | undefined;
  /** For an `expired` session: the idle time or time since login this backend measured, and the limit it applied (ms). */
  expiredAfterMs: number | undefined;
  expiredLimitMs: number | undefined;
  /** Where a replicated store read and wrote this session (empty for the others). */
  readonly trace: StoreTrace = {};
  #dirty = false;
  #touch = false;
  /** This request's changes to a loaded record, replayed by a locking commit. */
  readonly #changes: ((record: SessionRecord) => void)[] = [];
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
    this.expiredBy = undefined;
    this.expiredAfterMs = undefined;
    this.expiredLimitMs = undefined;
    this.status = 'none';
  }

  /** Loads the session the cookie names, noting why it could not when it could not. */
  async load(now: number): Promise<void> {
    const id = this.incomingId;
    if (id === undefined) return;
    const record = ID_PATTERN.test(id) ? await this.#store.get(id, this.trace) : undefined;
    if (!record) {
      this.status = 'unknown-id';
      return;
    }
    const { idleTimeoutMs, absoluteTimeoutMs, rolling } = this.#options;
    if (idleTimeoutMs > 0 && now - record.lastSeenAt > idleTimeoutMs) {
      this.expiredBy = 'idle';
      this.expiredAfterMs = now - record.lastSeenAt;
      this.expiredLimitMs = idleTimeoutMs;
    } else if (absoluteTimeoutMs > 0 && record.loginAt !== undefined && now - record.loginAt > absoluteTimeoutMs) {
      this.expiredBy = 'absolute';
      this.expiredAfterMs = now - record.loginAt;
      this.expiredLimitMs = absoluteTimeoutMs;
    }
    if (this.expiredBy) {
      this.status = 'expired';
      await this.#store.destroy(id, this.trace);
      return;
    }
    this.status = 'loaded';
    this.id = id;
    this.record = record;
    if (idleTimeoutMs > 0) {
      // The idle clock needs the last visit stored with the record.
      this.change((r) => {
        r.lastSeenAt = now;
      });
    } else if (rolling) {
      this.#touch = true;
    }
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

  /**
   * A new id, the old one destroyed (fixation defence on login and on
   * privilege change). `keepData: false` starts from an empty record: the
   * bug of a regenerate that forgets to carry the session over.
   */
  async regenerate(now: number, { keepData = true }: { keepData?: boolean } = {}): Promise<SessionRecord> {
    const record = this.ensure(now);
    if (this.id && !this.#issued) await this.#store.destroy(this.id, this.trace);
    this.id = newSessionId();
    if (!keepData) this.record = { createdAt: now, lastSeenAt: now, data: {} };
    this.#issued = true;
    this.#dirty = true;
    return keepData ? record : this.record!;
  }

  /** Ends the session server-side and tells the client to drop its cookie. */
  async destroy(): Promise<void> {
    if (this.id) await this.#store.destroy(this.id, this.trace);
    this.status = 'destroyed';
    this.id = undefined;
    this.record = undefined;
    this.#dirty = false;
    this.#cleared = true;
  }

  /** Changes the session's record: at once here, and again on the stored record by a locking commit. */
  change(fn: (record: SessionRecord) => void): void {
    if (!this.record) throw new Error('no session to change: call ensure() first');
    fn(this.record);
    this.#changes.push(fn);
    this.#dirty = true;
  }

  /** Saves what changed and says which cookies to send. `secureRequest`: the request counts as https. */
  async commit(secureRequest: boolean): Promise<CommitResult> {
    const { cookieName, ttlMs, secureCookie, cookieMaxAgeMs, rolling } = this.#options;
    const secure = secureCookie === 'on' || (secureCookie === 'auto' && secureRequest);
    const attributes = { path: '/', httpOnly: true, sameSite: this.#options.sameSite ?? 'lax', secure } as const;
    if (this.#cleared) {
      return { setCookies: [stringifySetCookie({ name: cookieName, value: '', maxAge: 0, ...attributes })], write: 'destroy', cookie: 'cleared' };
    }
    if (!this.id || !this.record) return { setCookies: [], write: 'none', cookie: 'none' };

    let write: StoreWrite = 'none';
    if (this.#dirty && this.#options.writes === 'locking' && !this.#issued) {
      // A loaded session: replay our changes on what is stored now.
      const changes = this.#changes;
      const outcome = await this.#store.update(this.id, (record) => changes.forEach((fn) => fn(record)), ttlMs);
      write = outcome === 'written' ? 'set' : 'none';
    } else if (this.#dirty) {
      await this.#store.set(this.id, this.record, ttlMs, this.trace);
      write = 'set';
    } else if (this.#touch) {
      await this.#store.touch(this.id, ttlMs);
      write = 'touch';
    }

    const refresh = rolling && cookieMaxAgeMs > 0 && this.status === 'loaded';
    if (!this.#issued && !refresh) return { setCookies: [], write, cookie: 'none' };
    // A Secure cookie is never sent over what looks like plain http.
    if (secureCookie === 'on' && !secureRequest) return { setCookies: [], write, cookie: 'withheld-insecure' };
    const maxAge = cookieMaxAgeMs > 0 ? Math.max(1, Math.round(cookieMaxAgeMs / 1000)) : undefined;
    const setCookies = [stringifySetCookie({ name: cookieName, value: this.id, maxAge, ...attributes })];
    if (this.#issued) {
      // A new session comes with a new CSRF token, in its own cookie, first:
      // apps send several Set-Cookie headers, which is what a proxy that
      // merges them breaks (node-http-proxy #1101).
      setCookies.unshift(stringifySetCookie({ name: 'csrf', value: newSessionId(), path: '/', sameSite: 'lax', secure }));
    }
    return { setCookies, write, cookie: 'sent' };
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
    const id = req.headers.cookie ? parseCookie(req.headers.cookie)[this.options.cookieName] : undefined;
    const session = new Session(this.store, this.options, id);
    await session.load(now);
    return session;
  }
}
