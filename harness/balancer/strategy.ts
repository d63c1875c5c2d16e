import type { IncomingMessage } from 'node:http';
import type { ProxyResponseHead } from './engine/engine.js';

/** A backend as the balancer sees it; `up` and `url` change when it dies, drains or restarts. */
export interface BalancerTarget {
  readonly name: string;
  url: string;
  readonly index: number;
  /** Takes new requests. False once the backend is down or draining. */
  up: boolean;
  /** Requests being proxied to it right now. */
  inFlight: number;
}

/** What a strategy chose, and why when it matters to the diagnosis. */
export interface Choice {
  target: BalancerTarget;
  /** Sticky strategies: whether the client was already pinned, newly pinned, or moved. */
  pin?: 'kept' | 'new' | 'repinned';
  /** The backend the client was pinned to before a re-pin. */
  pinnedBefore?: string;
}

/**
 * The seam every balancing strategy plugs into: one file per strategy,
 * registered in strategies.ts. `pick` runs once per proxied request, over
 * the targets that are up; `onResponse` may add to the backend's response
 * headers before they go to the client (a sticky cookie), and
 * `forwardCookie` may rewrite the Cookie header it forwards.
 */
export interface BalancingStrategy {
  readonly name: string;
  pick(req: IncomingMessage, up: readonly BalancerTarget[], all: readonly BalancerTarget[]): Choice;
  onResponse?(req: IncomingMessage, backendRes: ProxyResponseHead, choice: Choice): void;
  forwardCookie?(cookie: string | undefined): string | undefined;
}

/** A stable 32-bit hash (FNV-1a) for hash-based strategies. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
