import { describe, expect, test } from 'vitest';
import { MemoryStore } from '../../servers/session/memory-store.js';
import type { SessionRecord } from '../../servers/session/store.js';

const record = (user?: string): SessionRecord => ({ createdAt: 0, lastSeenAt: 0, user, data: {} });

describe('memory store', () => {
  test('returns what was set, as a copy the caller may change', async () => {
    const store = new MemoryStore(() => 1000);
    await store.set('a', record('alice'), 500);
    const got = await store.get('a');
    expect(got?.user).toBe('alice');
    got!.user = 'mallory';
    expect((await store.get('a'))?.user).toBe('alice');
  });

  test('forgets a record once its TTL has passed', async () => {
    let now = 1000;
    const store = new MemoryStore(() => now);
    await store.set('a', record(), 500);
    now = 1499;
    expect(await store.get('a')).toBeDefined();
    now = 1500;
    expect(await store.get('a')).toBeUndefined();
  });

  test('touch extends the TTL without changing the record', async () => {
    let now = 1000;
    const store = new MemoryStore(() => now);
    await store.set('a', record('alice'), 500);
    now = 1400;
    await store.touch('a', 500);
    now = 1800;
    expect((await store.get('a'))?.user).toBe('alice');
  });

  test('destroy removes the record', async () => {
    const store = new MemoryStore();
    await store.set('a', record(), 10_000);
    await store.destroy('a');
    expect(await store.get('a')).toBeUndefined();
  });

  test('two stores (two processes) never share a record', async () => {
    const app1 = new MemoryStore();
    const app2 = new MemoryStore();
    await app1.set('a', record('alice'), 10_000);
    expect(await app2.get('a')).toBeUndefined();
  });
});
