import type { IncomingMessage } from 'node:http';
import { drawFor } from '../util/seeded.js';
import { requestIdentity } from './request-identity.js';
import type { BalancerTarget, BalancingStrategy, Choice } from './strategy.js';

/**
 * A backend chosen at random for each request. With a run's seed the draw
 * is fixed by the seed and the request's identity (user, pass, step), so
 * the same seed sends every request to the same backend whatever order
 * requests arrive in; `random` serves requests without an identity.
 */
export class RandomChoice implements BalancingStrategy {
  readonly name = 'random';

  constructor(
    private readonly random: () => number = Math.random,
    private readonly seed?: number,
  ) {}

  pick(req: IncomingMessage, up: readonly BalancerTarget[]): Choice {
    const id = this.seed === undefined ? undefined : requestIdentity(req);
    const draw = id ? drawFor(this.seed!, `random:${id.user}.${id.run}.${id.step}`) : this.random();
    return { target: up[Math.floor(draw * up.length)] };
  }
}
