import type { IncomingMessage } from 'node:http';

/** A backend as the balancer sees it. */
export interface BalancerTarget {
  readonly name: string;
  readonly url: string;
  readonly index: number;
}

/**
 * The seam every balancing strategy plugs into: one file per strategy,
 * registered in strategies.ts. `pick` runs once per proxied request.
 */
export interface BalancingStrategy {
  readonly name: string;
  pick(req: IncomingMessage, targets: readonly BalancerTarget[]): BalancerTarget;
}
