import { Redis } from 'ioredis';
import type { SessionRecord, SessionStore } from './store.js';

/**
 * Sessions shared by every backend through one Redis, each record a JSON
 * string under `<prefix>sess:<id>` with a PX expiry. The prefix is per
 * cluster, so two clusters on one Redis never read each other's sessions.
 *
 * Records are read and written whole: last writer wins, as in
 * connect-redis (tj/connect-redis #75).
 */
export class RedisStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
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
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
