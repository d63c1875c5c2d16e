import { ClientHash } from './client-hash.js';
import { LeastConnections } from './least-connections.js';
import { RandomChoice } from './random.js';
import { RoundRobin } from './round-robin.js';
import type { BalancingStrategy } from './strategy.js';
import { StickyCookie } from './sticky-cookie.js';

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
} satisfies Record<string, (options: StrategyOptions) => BalancingStrategy>;

export type BalancerName = keyof typeof STRATEGIES;

export const BALANCER_NAMES = Object.keys(STRATEGIES) as BalancerName[];

export function createStrategy(name: BalancerName, options: StrategyOptions = {}): BalancingStrategy {
  return STRATEGIES[name](options);
}

/**
 * How far `--seed` replays each strategy's routing: `always` — every
 * request the runner sends goes to the backend the seed and the request's
 * identity (user, pass, step) give, whatever the concurrency; `ties` — only
 * the tie-breaks are seeded (least-connections: the loads depend on timing,
 * so routing replays with one user in flight at a time). client-hash is a
 * function of the client's address alone, the same in every run. nginx and
 * HAProxy make their own choices: a seed cannot hold there.
 */
export const SEED_REPLAYS: Record<BalancerName, 'always' | 'ties'> = {
  'round-robin': 'always',
  random: 'always',
  'least-connections': 'ties',
  sticky: 'always',
  'client-hash': 'always',
};
