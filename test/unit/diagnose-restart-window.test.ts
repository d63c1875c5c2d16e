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
import type { ClusterEvent, History } from '../../harness/history/history.js';
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

/**
 * The same window for a backend restart. The harness takes the backend out of
 * rotation and records `backend-restarted`, then stops the old process
 * (SIGTERM; it closes its server when it gets to it, later on a busy
 * machine). session-lab's own balancer never sends it a request from then on;
 * nginx and HAProxy do not read `target.up`: a request reaches its recording
 * tap over a kept-alive connection until the tap closes its port (it looks
 * every 25 ms), and the tap forwards it to the old process, which answers and
 * writes to its memory. Seen in a HAProxy cookie-insert run (memory sessions,
 * restart-backend=app-1,after=30, 24 users, load ~30): the restart began at
 * 458 ms, the old app-1 was gone by 614 ms, and 8 requests sent 49 to 89 ms
 * after the restart began were answered by it, each writing a session into
 * the memory the restart took down. Here a logged-in user's touch is one.
 */
describe('a write sent while a backend was restarting (behind HAProxy, cookie-insert)', () => {
  const restartHops = (last: Partial<Hop> = {}): Hop[] => [
    { step: 1, request: 'GET /', backend: 'app-1', session: 'created', issued: A, at: 0, duration: 300 },
    { step: 2, request: 'POST /login', backend: 'app-1', session: 'loaded', jar: A, issued: B, user: 'alice', at: 400, duration: 200 },
    { step: 3, backend: 'app-1', session: 'loaded', jar: B, user: 'alice', at: 700, duration: 150 },
    // Sent 40 ms after the restart began; the old app-1 had not yet closed its server, and touched the session.
    { step: 4, backend: 'app-1', session: 'loaded', jar: B, user: 'alice', at: 1040, duration: 90 },
    // Pinned to app-1, whose new process is up (and empty) by then.
    { step: 5, backend: 'app-1', session: 'unknown-id', jar: B, issued: C, at: 2600, duration: 40, status: 401, ...last },
  ];
  const restarted = (more: Partial<ClusterEvent> = {}) => [
    event('backend-restarted', 1000, { backend: 'app-1', fault: 'restart-backend=app-1,after=24', lostBy: START + 1180, ...more }),
    event('backend-up', 2400, { backend: 'app-1', fault: 'restart-backend=app-1,after=24' }),
  ];
  const behindHaproxy = (h: History) => {
    h.topology.balancer = 'haproxy:cookie-insert';
    return h;
  };

  test('answered by the old process, then not found by the new one: replication, naming the restart and when the old process was gone', () => {
    const verdicts = diagnose(behindHaproxy(history('memory', restartHops(), {}, restarted())));
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([[5, 'replication']]);
    expect(verdicts[0].evidence).toContain('app-1 was restarted at 1 s (fault restart-backend=app-1,after=24), the old process serving until it was gone by 1.18 s');
  });

  test('sent elsewhere while app-1 was down (HAProxy redispatched it): replication, naming the restart', () => {
    const verdicts = diagnose(behindHaproxy(history('memory', restartHops({ backend: 'app-2', at: 1300 }), {}, restarted())));
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([[5, 'replication']]);
    expect(verdicts[0].evidence).toContain('app-1 was restarted at 1 s');
  });

  test('judged while the old process was still stopping: replication, the restart still under way', () => {
    const verdicts = diagnose(behindHaproxy(history('memory', restartHops({ at: 1150 }), {}, restarted({ lostBy: undefined, ongoing: true }).slice(0, 1))));
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([[5, 'replication']]);
    expect(verdicts[0].evidence).toContain('app-1 was restarted at 1 s (fault restart-backend=app-1,after=24), the restart still under way');
  });

  test('the TTL could have run out while the old process still served: unclassified, naming both', () => {
    // Last write (step 4) sent at 1040: alive until 1040 + 100, gone by 1130 + 100; the restart began at 1000 and was over at 1180.
    const verdicts = diagnose(behindHaproxy(history('memory', restartHops(), { ttlMs: 100 }, restarted())));
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([[5, 'unclassified']]);
    expect(verdicts[0].evidence).toContain('the history cannot tell which ended it');
  });

  test('a history without the end of the restart: the restart is an instant, as before', () => {
    const verdicts = diagnose(behindHaproxy(history('memory', restartHops(), {}, restarted({ lostBy: undefined }))));
    expect(verdicts.map((v) => [v.step, v.cause])).toEqual([[5, 'unclassified']]);
  });
});
