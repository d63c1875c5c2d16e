/**
 * Round-robin that replays: which backend a request's turn falls on is a
 * function of the run's seed and the request's identity, not of the order
 * concurrent requests arrive in.
 *
 * Users are dealt out in blocks of N (N backends), per pass: within a block
 * a permutation drawn from the seed gives each user a different first
 * backend — as evenly as round-robin spreads users who start together — and
 * each next step of a user moves one backend on, as round-robin moves a
 * user's next request on. A different seed deals the users differently.
 */
import { permutation } from '../util/seeded.js';
import type { RequestIdentity } from './request-identity.js';
import type { BalancerTarget } from './strategy.js';

/** The index (0 … n-1) of the backend whose turn this request is. */
export function seededTurn(seed: number, id: RequestIdentity, n: number): number {
  const block = Math.floor((id.user - 1) / n);
  const first = permutation(seed, `turn:${id.run}:${block}`, n)[(id.user - 1) % n];
  return (first + id.step - 1) % n;
}

/**
 * The target at `start` in the ring of all targets, or the next one that is
 * up: a backend that is down hands its turns to its neighbour, and nobody
 * else's turn moves.
 */
export function firstUpFrom(all: readonly BalancerTarget[], start: number): BalancerTarget | undefined {
  for (let i = 0; i < all.length; i++) {
    const target = all[(start + i) % all.length];
    if (target.up) return target;
  }
  return undefined;
}
