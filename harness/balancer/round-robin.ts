import type { BalancerTarget, BalancingStrategy } from './strategy.js';

/** Each request to the next backend in turn, whoever sends it: nginx's and HAProxy's default. */
export class RoundRobin implements BalancingStrategy {
  readonly name = 'round-robin';
  #next = 0;

  pick(_req: unknown, targets: readonly BalancerTarget[]): BalancerTarget {
    const target = targets[this.#next % targets.length];
    this.#next = (this.#next + 1) % targets.length;
    return target;
  }
}
