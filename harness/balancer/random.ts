import type { BalancerTarget, BalancingStrategy, Choice } from './strategy.js';

/** A backend chosen at random for each request. */
export class RandomChoice implements BalancingStrategy {
  readonly name = 'random';
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  pick(_req: unknown, up: readonly BalancerTarget[]): Choice {
    return { target: up[Math.floor(this.#random() * up.length)] };
  }
}
