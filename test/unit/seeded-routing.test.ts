/**
 * --seed on plain objects, no sockets: a seeded strategy's choice is a
 * function of the seed and the request's identity (user, pass, step), so
 * the same seed routes every request alike whatever order requests arrive
 * in, and a different seed routes differently.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { formatRequestId, requestIdentity } from '../../harness/balancer/request-identity.js';
import { STICKY_COOKIE } from '../../harness/balancer/sticky-cookie.js';
import { createStrategy, SEED_REPLAYS, type BalancerName } from '../../harness/balancer/strategies.js';
import type { BalancerTarget } from '../../harness/balancer/strategy.js';
import { permutation, seededStream } from '../../harness/util/seeded.js';

function targets(n = 3): BalancerTarget[] {
  return Array.from({ length: n }, (_, index) => ({ name: `app-${index + 1}`, url: `http://127.0.0.1:${1000 + index}`, index, up: true, inFlight: 0 }));
}
const up = (all: BalancerTarget[]) => all.filter((t) => t.up);

interface Sent {
  key: string;
  req: IncomingMessage;
}

/** Users × passes × steps as the runner names them, under one run's random prefix. */
function requests(runId: string, users = 7, passes = 2, steps = 6): Sent[] {
  const out: Sent[] = [];
  for (let user = 1; user <= users; user++)
    for (let run = 1; run <= passes; run++)
      for (let step = 1; step <= steps; step++) {
        const req = { headers: { 'x-slab-request-id': formatRequestId(runId, { user, run, step }) }, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
        out.push({ key: `${user}.${run}.${step}`, req });
      }
  return out;
}

/** The (user.pass.step) → backend map of one run, its requests arriving in `order`. */
function route(name: BalancerName, seed: number, sent: Sent[], all = targets()): Map<string, string> {
  const strategy = createStrategy(name, { seed });
  const map = new Map<string, string>();
  for (const { key, req } of sent) map.set(key, strategy.pick(req, up(all), all).target.name);
  return map;
}

function shuffled<T>(items: T[], seed: number): T[] {
  const next = seededStream(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const sorted = (map: Map<string, string>) => [...map].sort(([a], [b]) => a.localeCompare(b));

describe('the request identity the runner writes and the balancer reads', () => {
  test('round-trips user, pass and step; a foreign id has none', () => {
    const id = formatRequestId('a1b2c3', { user: 12, run: 3, step: 40 });
    expect(requestIdentity({ headers: { 'x-slab-request-id': id } })).toEqual({ user: 12, run: 3, step: 40 });
    expect(requestIdentity({ headers: { 'x-slab-request-id': 'something-else' } })).toBeUndefined();
    expect(requestIdentity({ headers: {} })).toBeUndefined();
  });
});

describe.each(['round-robin', 'random', 'sticky', 'least-connections'] as const)('%s with a seed', (name) => {
  test('the same seed routes every request alike, whatever order they arrive in and whatever the run prefix', () => {
    const inOrder = route(name, 42, requests('aaaaaa'));
    for (const order of [1, 2, 3]) expect(sorted(route(name, 42, shuffled(requests('bbbbbb'), order)))).toEqual(sorted(inOrder));
  });

  test('a different seed routes differently', () => {
    expect(sorted(route(name, 43, requests('aaaaaa')))).not.toEqual(sorted(route(name, 42, requests('aaaaaa'))));
  });
});

describe('seeded round-robin keeps what round-robin does to a user', () => {
  test("each user's next request goes to the next backend, and users starting together are spread over all backends", () => {
    const map = route('round-robin', 9, requests('r', 6, 1, 4));
    for (let user = 1; user <= 6; user++) {
      const seen = [1, 2, 3, 4].map((step) => map.get(`${user}.1.${step}`)!);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
    }
    // Users 1–3 and 4–6 are each dealt one first backend apiece.
    expect(new Set([1, 2, 3].map((u) => map.get(`${u}.1.1`))).size).toBe(3);
    expect(new Set([4, 5, 6].map((u) => map.get(`${u}.1.1`))).size).toBe(3);
  });

  test("a backend that is down hands its turns to the next one up; nobody else's request moves", () => {
    const before = route('round-robin', 5, requests('r'));
    const all = targets();
    all[1].up = false;
    const after = route('round-robin', 5, requests('r'), all);
    for (const [key, backend] of before) expect(after.get(key)).toBe(backend === 'app-2' ? 'app-3' : backend);
  });

  test('a request without an identity still goes round in arrival order', () => {
    const strategy = createStrategy('round-robin', { seed: 1 });
    const all = targets();
    const plain = { headers: {} } as IncomingMessage;
    expect(Array.from({ length: 4 }, () => strategy.pick(plain, up(all), all).target.name)).toEqual(['app-1', 'app-2', 'app-3', 'app-1']);
  });
});

describe('seeded sticky and least-connections', () => {
  test('sticky pins each user where seeded round-robin sends their first request, and keeps them there', () => {
    const rr = route('round-robin', 11, requests('r', 6, 1, 1));
    const strategy = createStrategy('sticky', { seed: 11 });
    const all = targets();
    for (const { key, req } of requests('r', 6, 1, 1)) {
      expect(strategy.pick(req, up(all), all)).toMatchObject({ target: { name: rr.get(key) }, pin: 'new' });
      const pinned = { headers: { ...req.headers, cookie: `${STICKY_COOKIE}=${rr.get(key)}` } } as IncomingMessage;
      expect(strategy.pick(pinned, up(all), all)).toMatchObject({ target: { name: rr.get(key) }, pin: 'kept' });
    }
  });

  test('least-connections still goes to the least loaded backend; the seed only breaks ties', () => {
    const all = targets();
    all[0].inFlight = 2;
    all[2].inFlight = 2;
    const strategy = createStrategy('least-connections', { seed: 3 });
    for (const { req } of requests('r')) expect(strategy.pick(req, up(all), all).target.name).toBe('app-2');
    expect(SEED_REPLAYS['least-connections']).toBe('ties');
  });
});

test('a seeded permutation is a permutation', () => {
  for (let seed = 0; seed < 50; seed++) expect([...permutation(seed, 'k', 5)].sort()).toEqual([0, 1, 2, 3, 4]);
});
