/**
 * A Redis restart takes a while: the fault records it when it begins, and
 * the old Redis serves on until its keeper has killed it — hundreds of ms
 * on a busy machine. What a request wrote meanwhile was lost with it. The
 * shape comes from a kept history of architectures.test.ts (restart-redis,
 * 8 users, round-robin): user 1's touch at step 5 was sent 213 ms after the
 * restart began and answered by the old Redis; step 6 found nothing
 * (unknown-id), and the diagnosis said "the history records no restart or
 * store loss that explains it" — while it recorded one.
 */
import { describe, expect, test } from 'vitest';
import { diagnose } from '../../harness/diagnosis/diagnose.js';
import { event, history, START, type Hop } from '../helpers/history.js';

const A = 'AAAAAAAAAAAAAAAAAAAAAA';
const B = 'BBBBBBBBBBBBBBBBBBBBBB';
const C = 'CCCCCCCCCCCCCCCCCCCCCC';

/** Land, log in, view twice; the restart begins at 5000 ms (between steps 3 and 4). */
const hops: Hop[] = [
  { step: 1, request: 'GET /', backend: 'app-3', session: 'created', issued: A, at: 0, duration: 1900 },
  { step: 2, request: 'POST /login', backend: 'app-1', session: 'loaded', jar: A, issued: B, user: 'alice', at: 2500, duration: 1300 },
  { step: 3, backend: 'app-2', session: 'loaded', jar: B, user: 'alice', at: 3800, duration: 900 },
  // Sent 213 ms after the restart began; the old Redis answered it (and took its write down with it).
  { step: 4, backend: 'app-1', session: 'loaded', jar: B, user: 'alice', at: 5213, duration: 520 },
  { step: 5, backend: 'app-2', session: 'unknown-id', jar: B, issued: C, at: 5740, duration: 760, status: 401 },
];

describe('a write sent while Redis was restarting', () => {
  test('answered before the old Redis was gone, then not found: replication, naming the restart and when the old one was gone', () => {
    const verdicts = diagnose(history('redis', hops, {}, [event('redis-restarted', 5000, { fault: 'restart-redis,after=16', lostBy: START + 5700 })]));
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([[5, 'replication']]);
    expect(verdicts[0].evidence).toContain('the shared store was restarted empty at 5 s (fault restart-redis,after=16), the old one serving until it was gone by 5.7 s');
    expect(verdicts[0].evidence).toContain('every session in it was lost');
  });

  test('judged while the restart is still under way (the user finished first): replication, the restart still under way', () => {
    // A kept history's user 2: the restart began at 0; the touch sent at 249 was answered by the old
    // Redis; step 6 found nothing at 1125; the new Redis was ready only at 1171, after the pass was judged.
    const verdicts = diagnose(
      history(
        'redis',
        [
          { step: 1, request: 'GET /', backend: 'app-2', session: 'created', issued: A, at: 9069, duration: 732 },
          { step: 2, request: 'POST /login', backend: 'app-3', session: 'loaded', jar: A, issued: B, user: 'alice', at: 9802, duration: 198 },
          { step: 3, backend: 'app-1', session: 'loaded', jar: B, user: 'alice', at: 9999, duration: 182 },
          { step: 4, backend: 'app-2', session: 'loaded', jar: B, user: 'alice', at: 10182, duration: 46 },
          { step: 5, backend: 'app-3', session: 'loaded', jar: B, user: 'alice', at: 10249, duration: 494 },
          { step: 6, backend: 'app-1', session: 'unknown-id', jar: B, issued: C, at: 10743, duration: 382, status: 401 },
        ],
        {},
        [event('redis-restarted', 10000, { fault: 'restart-redis,after=16', ongoing: true })],
      ),
    );
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([[6, 'replication']]);
    expect(verdicts[0].evidence).toContain('the shared store was restarted empty at 10 s (fault restart-redis,after=16), the restart still under way, and every session in it was lost');
  });

  test('sent after the old Redis was gone (into the new one), then not found: no restart explains it, unclassified', () => {
    const verdicts = diagnose(history('redis', hops, {}, [event('redis-restarted', 5000, { lostBy: START + 5100 })]));
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([[5, 'unclassified']]);
    expect(verdicts[0].evidence).toContain('the history records no restart or store loss that explains it');
  });

  test('a history without the end of the restart (written before lostBy was recorded): the restart is an instant, as before', () => {
    const verdicts = diagnose(history('redis', hops, {}, [event('redis-restarted', 5000)]));
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([[5, 'unclassified']]);
  });

  test('the TTL could have run out while the old Redis was still up: unclassified, naming both', () => {
    // Last write (step 4) sent at 5213: alive until 5213 + 400 = 5613, gone by 5733 + 400 = 6133;
    // the restart began at 5000 (before the TTL could end) but was over only at 5700 (after it could have).
    const verdicts = diagnose(history('redis', hops, { ttlMs: 400 }, [event('redis-restarted', 5000, { lostBy: START + 5700 })]));
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([[5, 'unclassified']]);
    expect(verdicts[0].evidence).toContain('the history cannot tell which ended it');
  });
});
