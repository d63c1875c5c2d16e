import type { BalancerTarget, BalancingStrategy, Choice } from './strategy.js';

/** The backend with the fewest requests in flight (HAProxy's leastconn); ties go round in turn. */
export class LeastConnections implements BalancingStrategy {
  readonly name = 'least-connections';
  #next = 0;

  pick(_req: unknown, up: readonly BalancerTarget[]): Choice {
    let best: BalancerTarget | undefined;
    for (let i = 0; i < up.length; i++) {
      const target = up[(this.#next + i) % up.length];
      if (!best || target.inFlight < best.inFlight) best = target;
    }
    this.#next = (this.#next + 1) % up.length;
    return { target: best! };
  }
}
