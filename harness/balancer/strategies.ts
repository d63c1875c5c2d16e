import { ClientHash } from './client-hash.js';
import { LeastConnections } from './least-connections.js';
import { RandomChoice } from './random.js';
import { RoundRobin } from './round-robin.js';
import type { BalancingStrategy } from './strategy.js';
import { StickyCookie } from './sticky-cookie.js';
import type { BalancerName } from './names.js';

export { BALANCER_NAMES, SEED_REPLAYS, type BalancerName } from './names.js';

export interface StrategyOptions {
  /** The run's seed: what the strategy leaves to chance is drawn from it and each request's identity (util/seeded.ts). */
  seed?: number;
}

/** Every balancing strategy by its command-line name. */
export const STRATEGIES = {
  'round-robin': ({ seed }) => new RoundRobin(seed),
  random: ({ seed }) => new RandomChoice(Math.random, seed),
  'least-connections': ({ seed }) => new LeastConnections(seed),
  sticky: ({ seed }) => new StickyCookie(seed),
  'client-hash': () => new ClientHash(),
} satisfies Record<BalancerName, (options: StrategyOptions) => BalancingStrategy>;

export function createStrategy(name: BalancerName, options: StrategyOptions = {}): BalancingStrategy {
  return STRATEGIES[name](options);
}
