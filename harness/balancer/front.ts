/**
 * What sits in front of the backends: the balancer virtual users talk to.
 * Today the Node balancer (proxy.ts) with a strategy from strategies.ts;
 * other fronts (nginx, HAProxy) plug in here, behind the same shape.
 *
 *   virtual users ──▶ front (this seam) ──▶ app-1 … app-N
 */
import type { CookieFault } from '../fault/fault.js';
import { startBalancer, type ProxyRecord, type TlsMaterial } from './proxy.js';
import { createStrategy, type BalancerName } from './strategies.js';
import type { BalancerTarget } from './strategy.js';

export interface FrontOptions {
  /** The balancer as the user named it (--balancer). */
  balancer: BalancerName;
  /** The backends; `up` and `url` change as faults act, and the front follows. */
  targets: BalancerTarget[];
  /** Cookie faults acting at the front. */
  faults: readonly CookieFault[];
  /** Also listen on https, TLS terminated at the front. */
  tls?: TlsMaterial;
  /** Receives what the front saw of each request. */
  onRecord: (record: ProxyRecord) => void;
}

export interface StartedFront {
  /** `node` for the harness's own balancer. */
  readonly kind: string;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly httpPort: number;
  readonly httpsUrl: string | undefined;
  readonly httpsPort: number | undefined;
  stop(): Promise<void>;
}

export async function startFront(options: FrontOptions): Promise<StartedFront> {
  const balancer = await startBalancer({
    targets: options.targets,
    strategy: createStrategy(options.balancer),
    onRecord: options.onRecord,
    faults: options.faults,
    tls: options.tls,
  });
  return {
    kind: 'node',
    url: balancer.url,
    httpPort: balancer.httpPort,
    httpsUrl: balancer.httpsUrl,
    httpsPort: balancer.httpsPort,
    stop: () => balancer.stop(),
  };
}
