/**
 * What sits in front of the backends: the balancer virtual users talk to.
 * Today the Node balancer (proxy.ts) with a strategy from strategies.ts;
 * other fronts (nginx, HAProxy) plug in here, behind the same shape.
 *
 *   virtual users ──▶ front (this seam) ──▶ app-1 … app-N
 */
import type { CookieFault } from '../fault/fault.js';
import type { TapRecord } from '../history/history.js';
import type { EngineName } from './engine/engine.js';
import { startBalancer, type ProxyRecord, type TlsMaterial } from './proxy.js';
import { isRealBalancer, type FrontName } from './names.js';
import { checkRealFront, startRealFront } from './real-front.js';
import { createStrategy } from './strategies.js';
import type { BalancerTarget } from './strategy.js';

export { FRONT_NAMES, isFrontName, type FrontName } from './names.js';

export interface FrontOptions {
  /** The balancer as the user named it (--balancer). */
  balancer: FrontName;
  /** nginx / HAProxy: the user's own config with placeholders (--balancer-config) instead of the template. */
  balancerConfig?: string;
  /** The session cookie's name (nginx:hash-cookie hashes it). */
  cookieName?: string;
  /** nginx / HAProxy: receives what each backend's recording tap saw. */
  onTap?: (record: TapRecord) => void;
  /** The backends; `up` and `url` change as faults act, and the front follows. */
  targets: BalancerTarget[];
  /** Cookie faults acting at the front. */
  faults: readonly CookieFault[];
  /** Also listen on https, TLS terminated at the front. */
  tls?: TlsMaterial;
  /** Receives what the front saw of each request. */
  onRecord: (record: ProxyRecord) => void;
  /** The Node balancer's forwarding engine (default undici). */
  engine?: EngineName;
  /** The run's seed: session-lab's own balancer draws its choices and fault probabilities from it (strategies.ts SEED_REPLAYS). */
  seed?: number;
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

/**
 * Refuses, before anything starts, a front that cannot run: nginx or HAProxy
 * missing from PATH (exit 3), a config it refuses or cookie faults it cannot
 * stand for (exit 2). Session-lab's own balancer has nothing to check here.
 */
export async function checkFront(options: Pick<FrontOptions, 'balancer' | 'balancerConfig' | 'faults' | 'cookieName'> & { servers: number; https: boolean }): Promise<void> {
  if (!isRealBalancer(options.balancer)) return;
  await checkRealFront({
    name: options.balancer,
    configFile: options.balancerConfig,
    cookieFaults: options.faults.map((fault) => fault.spec),
    cookieName: options.cookieName ?? 'sid',
    servers: options.servers,
    https: options.https,
  });
}

export async function startFront(options: FrontOptions): Promise<StartedFront> {
  if (isRealBalancer(options.balancer)) {
    return startRealFront({
      name: options.balancer,
      targets: options.targets,
      tls: options.tls,
      configFile: options.balancerConfig,
      cookieFaults: options.faults.map((fault) => fault.spec),
      cookieName: options.cookieName ?? 'sid',
      onTap: options.onTap ?? (() => {}),
    });
  }
  const balancer = await startBalancer({
    targets: options.targets,
    strategy: createStrategy(options.balancer, { seed: options.seed }),
    onRecord: options.onRecord,
    faults: options.faults,
    tls: options.tls,
    engine: options.engine,
    seed: options.seed,
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
