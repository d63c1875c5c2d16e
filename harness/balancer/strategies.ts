import { RoundRobin } from './round-robin.js';
import type { BalancingStrategy } from './strategy.js';

/** Every balancing strategy by its command-line name. */
export const STRATEGIES = {
  'round-robin': () => new RoundRobin(),
} satisfies Record<string, () => BalancingStrategy>;

export type BalancerName = keyof typeof STRATEGIES;

export const BALANCER_NAMES = Object.keys(STRATEGIES) as BalancerName[];

export function createStrategy(name: BalancerName): BalancingStrategy {
  return STRATEGIES[name]();
}
