/**
 * Every balancer's command-line name, and what a seed replays of each: the
 * names alone, so that the CLI and the scenario schema can check a name
 * without loading the balancers (strategies.ts, real-front.ts, front.ts
 * build on these lists).
 */

/** session-lab's own strategies (strategies.ts has one constructor per name). */
export const BALANCER_NAMES = ['round-robin', 'random', 'least-connections', 'sticky', 'client-hash'] as const;
export type BalancerName = (typeof BALANCER_NAMES)[number];

/** nginx and HAProxy from PATH, with a variant per balancing directive (real-front.ts). */
export const REAL_BALANCER_NAMES = ['nginx', 'nginx:ip-hash', 'nginx:least-conn', 'nginx:hash-cookie', 'haproxy', 'haproxy:source', 'haproxy:cookie-insert', 'haproxy:leastconn'] as const;
export type RealBalancerName = (typeof REAL_BALANCER_NAMES)[number];

export function isRealBalancer(name: string): name is RealBalancerName {
  return (REAL_BALANCER_NAMES as readonly string[]).includes(name);
}

/** Every balancer by its command-line name: session-lab's own strategies, then nginx and HAProxy. */
export const FRONT_NAMES: readonly FrontName[] = [...BALANCER_NAMES, ...REAL_BALANCER_NAMES];
export type FrontName = BalancerName | RealBalancerName;

export function isFrontName(name: string): name is FrontName {
  return (FRONT_NAMES as readonly string[]).includes(name);
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
