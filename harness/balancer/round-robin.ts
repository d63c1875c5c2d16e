import type { BalancerTarget, BalancingStrategy, Choice } from './strategy.js';

/** Each request to the next backend in turn, whoever sends it: nginx's and HAProxy's default. */
export class RoundRobin implements BalancingStrategy {
  readonly name = 'round-robin';
  #next = 0;

  pick(_req: unknown, up: readonly BalancerTarget[]): Choice {
    const target = up[this.#next % up.length];
    this.#next = (this.#next + 1) % up.length;
    return { target };
  }
}
