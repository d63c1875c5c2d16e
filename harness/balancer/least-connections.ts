import type { IncomingMessage } from 'node:http';
import { requestIdentity } from './request-identity.js';
import { seededTurn } from './seeded-turn.js';
import type { BalancerTarget, BalancingStrategy, Choice } from './strategy.js';

/**
 * The backend with the fewest requests in flight (HAProxy's leastconn); ties
 * go round in turn. With a run's seed a tie goes to the first tied backend
 * from the request's seeded turn (seeded-turn.ts): the choice replays when
 * the loads tie (one user at a time), but the loads themselves depend on
 * timing, so under concurrency it does not.
 */
export class LeastConnections implements BalancingStrategy {
  readonly name = 'least-connections';
  #next = 0;

  constructor(private readonly seed?: number) {}

  pick(req: IncomingMessage, up: readonly BalancerTarget[], all: readonly BalancerTarget[]): Choice {
    const id = this.seed === undefined ? undefined : requestIdentity(req);
    if (id) {
      const start = seededTurn(this.seed!, id, all.length);
      let best: BalancerTarget | undefined;
      for (let i = 0; i < all.length; i++) {
        const target = all[(start + i) % all.length];
        if (target.up && (!best || target.inFlight < best.inFlight)) best = target;
      }
      if (best) return { target: best };
    }
    let best: BalancerTarget | undefined;
    for (let i = 0; i < up.length; i++) {
      const target = up[(this.#next + i) % up.length];
      if (!best || target.inFlight < best.inFlight) best = target;
    }
    this.#next = (this.#next + 1) % up.length;
    return { target: best! };
  }
}
