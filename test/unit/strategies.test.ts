/** Balancing strategies on plain objects: no sockets. */
import type { IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { STICKY_COOKIE } from '../../harness/balancer/sticky-cookie.js';
import { BALANCER_NAMES, createStrategy } from '../../harness/balancer/strategies.js';
import type { BalancerTarget } from '../../harness/balancer/strategy.js';

function targets(n = 3): BalancerTarget[] {
  return Array.from({ length: n }, (_, index) => ({ name: `app-${index + 1}`, url: `http://127.0.0.1:${1000 + index}`, index, up: true, inFlight: 0 }));
}
const req = (cookie?: string, address = '127.0.0.1') => ({ headers: cookie ? { cookie } : {}, socket: { remoteAddress: address } }) as unknown as IncomingMessage;
const up = (all: BalancerTarget[]) => all.filter((t) => t.up);

describe('round-robin', () => {
  test('visits every backend in turn, whoever asks', () => {
    const strategy = createStrategy('round-robin');
    const all = targets();
    expect(Array.from({ length: 7 }, () => strategy.pick(req(), up(all), all).target.name)).toEqual(['app-1', 'app-2', 'app-3', 'app-1', 'app-2', 'app-3', 'app-1']);
  });

  test('skips a backend that is down', () => {
    const strategy = createStrategy('round-robin');
    const all = targets();
    all[1].up = false;
    expect(Array.from({ length: 4 }, () => strategy.pick(req(), up(all), all).target.name)).toEqual(['app-1', 'app-3', 'app-1', 'app-3']);
  });
});

describe('least-connections', () => {
  test('picks the backend with the fewest requests in flight', () => {
    const strategy = createStrategy('least-connections');
    const all = targets();
    all[0].inFlight = 5;
    all[1].inFlight = 1;
    all[2].inFlight = 3;
    expect(strategy.pick(req(), up(all), all).target.name).toBe('app-2');
  });
});

describe('random', () => {
  test('only ever picks backends that are up', () => {
    const strategy = createStrategy('random');
    const all = targets();
    all[0].up = false;
    const picked = new Set(Array.from({ length: 200 }, () => strategy.pick(req(), up(all), all).target.name));
    expect([...picked].sort()).toEqual(['app-2', 'app-3']);
  });
});

describe('sticky cookie', () => {
  test('a new client is pinned by a Set-Cookie the balancer adds', () => {
    const strategy = createStrategy('sticky');
    const all = targets();
    const choice = strategy.pick(req(), up(all), all);
    expect(choice.pin).toBe('new');
    const backendRes = { headers: { 'set-cookie': ['sid=1; Path=/'] } } as unknown as IncomingMessage;
    strategy.onResponse!(req(), backendRes, choice);
    expect(backendRes.headers['set-cookie']).toEqual(['sid=1; Path=/', `${STICKY_COOKIE}=${choice.target.name}; Path=/; HttpOnly; SameSite=Lax`]);
  });

  test('a pinned client stays on its backend, and the pin cookie is not forwarded', () => {
    const strategy = createStrategy('sticky');
    const all = targets();
    for (let i = 0; i < 5; i++) expect(strategy.pick(req(`sid=1; ${STICKY_COOKIE}=app-3`), up(all), all)).toMatchObject({ target: { name: 'app-3' }, pin: 'kept' });
    expect(strategy.forwardCookie!(`sid=1; ${STICKY_COOKIE}=app-3; theme=dark`)).toBe('sid=1; theme=dark');
    expect(strategy.forwardCookie!(`${STICKY_COOKIE}=app-3`)).toBeUndefined();
  });

  test('a client pinned to a backend that is down is re-pinned elsewhere (redispatch)', () => {
    const strategy = createStrategy('sticky');
    const all = targets();
    all[2].up = false;
    const choice = strategy.pick(req(`${STICKY_COOKIE}=app-3`), up(all), all);
    expect(choice).toMatchObject({ pin: 'repinned', pinnedBefore: 'app-3' });
    expect(choice.target.name).not.toBe('app-3');
  });
});

describe('client-hash', () => {
  test('all requests from one address go to one backend', () => {
    const strategy = createStrategy('client-hash');
    const all = targets();
    const picked = new Set(Array.from({ length: 20 }, () => strategy.pick(req(undefined, '127.0.0.7'), up(all), all).target.name));
    expect(picked.size).toBe(1);
  });

  test('different addresses spread over the backends', () => {
    const strategy = createStrategy('client-hash');
    const all = targets();
    const picked = new Set(Array.from({ length: 60 }, (_, i) => strategy.pick(req(undefined, `127.0.1.${i + 1}`), up(all), all).target.name));
    expect(picked.size).toBe(3);
  });

  test('when its backend is down, the next one up takes the address', () => {
    const strategy = createStrategy('client-hash');
    const all = targets();
    const home = strategy.pick(req(undefined, '127.0.0.9'), up(all), all).target;
    home.up = false;
    const next = strategy.pick(req(undefined, '127.0.0.9'), up(all), all).target;
    expect(next.name).not.toBe(home.name);
    expect(strategy.pick(req(undefined, '127.0.0.9'), up(all), all).target.name).toBe(next.name);
  });
});

test('every strategy is registered under its command-line name', () => {
  expect(BALANCER_NAMES).toEqual(['round-robin', 'random', 'least-connections', 'sticky', 'client-hash']);
});
