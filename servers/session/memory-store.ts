import type { SessionRecord, SessionStore } from './store.js';

/**
 * Sessions in this process's memory: what a single Node server does by
 * default, and exactly what breaks behind a round-robin balancer, since no
 * other process can see these records.
 */
export class MemoryStore implements SessionStore {
  readonly kind = 'memory' as const;
  readonly #records = new Map<string, { json: string; expiresAt: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const entry = this.#records.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#records.delete(id);
      return undefined;
    }
    // A copy, as a networked store would return: callers mutate freely.
    return JSON.parse(entry.json) as SessionRecord;
  }

  async set(id: string, record: SessionRecord, ttlMs: number): Promise<void> {
    this.#records.set(id, { json: JSON.stringify(record), expiresAt: this.#now() + ttlMs });
  }

  async destroy(id: string): Promise<void> {
    this.#records.delete(id);
  }

  async touch(id: string, ttlMs: number): Promise<void> {
    const entry = this.#records.get(id);
    if (entry) entry.expiresAt = this.#now() + ttlMs;
  }

  async update(id: string, apply: (record: SessionRecord) => void, ttlMs: number): Promise<'written' | 'gone'> {
    // One synchronous block: nothing else in this process runs in between.
    const entry = this.#records.get(id);
    if (!entry || entry.expiresAt <= this.#now()) return 'gone';
    const record = JSON.parse(entry.json) as SessionRecord;
    apply(record);
    this.#records.set(id, { json: JSON.stringify(record), expiresAt: this.#now() + ttlMs });
    return 'written';
  }

  async close(): Promise<void> {
    this.#records.clear();
  }
}
