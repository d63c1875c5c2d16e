import { ClientHash } from './client-hash.js';
import { LeastConnections } from './least-connections.js';
import { RandomChoice } from './random.js';
import { RoundRobin } from './round-robin.js';
import type { BalancingStrategy } from './strategy.js';
import { StickyCookie } from './sticky-cookie.js';

/** Every balancing strategy by its command-line name. */
export const STRATEGIES = {
  'round-robin': () => new RoundRobin(),
  random: () => new RandomChoice(),
  'least-connections': () => new LeastConnections(),
  sticky: () => new StickyCookie(),
  'client-hash': () => new ClientHash(),
} satisfies Record<string, () => BalancingStrategy>;

export type BalancerName = keyof typeof STRATEGIES;

export const BALANCER_NAMES = Object.keys(STRATEGIES) as BalancerName[];

export function createStrategy(name: BalancerName): BalancingStrategy {
  return STRATEGIES[name]();
}
