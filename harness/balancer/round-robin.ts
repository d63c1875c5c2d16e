import type { IncomingMessage } from 'node:http';
import { requestIdentity } from './request-identity.js';
import { firstUpFrom, seededTurn } from './seeded-turn.js';
import type { BalancerTarget, BalancingStrategy, Choice } from './strategy.js';

/**
 * Each request to the next backend in turn: nginx's and HAProxy's default.
 * With a run's seed, the turn of a request the runner sent is fixed by the
 * seed and the request's identity (seeded-turn.ts), so a run replays;
 * without one (or for a request without an identity), turns go in arrival
 * order.
 */
export class RoundRobin implements BalancingStrategy {
  readonly name = 'round-robin';
  #next = 0;

  constructor(private readonly seed?: number) {}

  pick(req: IncomingMessage, up: readonly BalancerTarget[], all: readonly BalancerTarget[]): Choice {
    const id = this.seed === undefined ? undefined : requestIdentity(req);
    const seeded = id && firstUpFrom(all, seededTurn(this.seed!, id, all.length));
    if (seeded) return { target: seeded };
    const target = up[this.#next % up.length];
    this.#next = (this.#next + 1) % up.length;
    return { target };
  }
}
