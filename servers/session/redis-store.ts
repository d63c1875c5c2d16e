import { Redis } from 'ioredis';
import type { SessionRecord, SessionStore } from './store.js';

/**
 * Sessions shared by every backend through one Redis, each record a JSON
 * string under `<prefix>sess:<id>` with a PX expiry. The prefix is per
 * cluster, so two clusters on one Redis never read each other's sessions.
 *
 * `set` writes a record whole: when two requests of one user each load,
 * change and save it, the last writer wins, as in connect-redis
 * (tj/connect-redis #75). `update` is optimistic locking instead: WATCH the
 * key, read, apply, MULTI/EXEC, and retry if another write came between.
 * WATCH belongs to a connection, so each update borrows one of a few
 * connections of its own.
 */
export class RedisStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #idle: Redis[] = [];
  readonly #waiting: ((connection: Redis) => void)[] = [];
  #open = 0;
  #closed = false;
  static readonly MAX_TRANSACTION_CONNECTIONS = 8;
  static readonly MAX_ATTEMPTS = 50;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async #borrow(): Promise<Redis> {
    if (this.#closed) throw new Error('the session store is closed');
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#open < RedisStore.MAX_TRANSACTION_CONNECTIONS) {
      this.#open++;
      return this.#redis.duplicate();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #giveBack(connection: Redis): void {
    // Closed meanwhile (the backend's life ended while an update ran): the connection goes too.
    if (this.#closed) return void connection.disconnect();
    const next = this.#waiting.shift();
    if (next) next(connection);
    else this.#idle.push(connection);
  }

  async update(id: string, apply: (record: SessionRecord) => void, ttlMs: number): Promise<'written' | 'gone'> {
    const key = this.#key(id);
    const connection = await this.#borrow();
    try {
      for (let attempt = 0; attempt < RedisStore.MAX_ATTEMPTS; attempt++) {
        await connection.watch(key);
        const json = await connection.get(key);
        if (json === null) {
          await connection.unwatch();
          return 'gone';
        }
        const record = JSON.parse(json) as SessionRecord;
        apply(record);
        const result = await connection
          .multi()
          .set(key, JSON.stringify(record), 'PX', Math.max(1, Math.round(ttlMs)))
          .exec();
        if (result !== null) return 'written';
        // Someone wrote between our read and our write: read again.
      }
      throw new Error(`session ${id.slice(0, 4)}…: still contended after ${RedisStore.MAX_ATTEMPTS} attempts`);
    } finally {
      this.#giveBack(connection);
    }
  }

  static connect(url: string, prefix: string): RedisStore {
    const redis = new Redis(url, {
      // Fail a request rather than queue it forever when Redis is gone:
      // the server answers 503 and the history shows the store error.
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
    });
    return new RedisStore(redis, prefix);
  }

  #key(id: string): string {
    return `${this.#prefix}sess:${id}`;
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const json = await this.#redis.get(this.#key(id));
    return json === null ? undefined : (JSON.parse(json) as SessionRecord);
  }

  async set(id: string, record: SessionRecord, ttlMs: number): Promise<void> {
    await this.#redis.set(this.#key(id), JSON.stringify(record), 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async destroy(id: string): Promise<void> {
    await this.#redis.del(this.#key(id));
  }

  async touch(id: string, ttlMs: number): Promise<void> {
    await this.#redis.pexpire(this.#key(id), Math.max(1, Math.round(ttlMs)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const connection of this.#idle.splice(0)) connection.disconnect();
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
