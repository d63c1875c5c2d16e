import type { IncomingMessage } from 'node:http';
import { hash32, type BalancerTarget, type BalancingStrategy, type Choice } from './strategy.js';

/**
 * The backend chosen by a hash of the client's address, as nginx's
 * `ip_hash`: every user behind one address (one NAT) lands on one backend.
 * When that backend is down, the next one up in the ring takes the client.
 */
export class ClientHash implements BalancingStrategy {
  readonly name = 'client-hash';

  pick(req: IncomingMessage, up: readonly BalancerTarget[], all: readonly BalancerTarget[]): Choice {
    const address = req.socket.remoteAddress ?? '';
    const start = hash32(address) % all.length;
    for (let i = 0; i < all.length; i++) {
      const target = all[(start + i) % all.length];
      if (target.up) return { target };
    }
    return { target: up[0] };
  }
}
