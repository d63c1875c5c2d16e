/**
 * A running system session-lab did not start (`--target URL`): the user's
 * docker compose, a staging balancer. Nothing is started or stopped; the
 * virtual users go to the URL as they would to any site, and only the
 * client's view exists (plus, when the system names its backends in a
 * response header, that name). The runner drives it through the same
 * interface as a started cluster.
 *
 *   virtual users ──▶ URL (the user's balancer) ──▶ ? ──▶ ?
 */
import { SESSION_DEFAULTS } from '../../servers/config.js';
import { CLUSTER_DEFAULTS, type StartedCluster } from '../cluster.js';
import { HarnessError } from '../errors.js';
import type { ClusterEvent, History } from '../history/history.js';

export interface TargetOptions {
  /** The system's URL, e.g. http://127.0.0.1:8080/ (path ignored). */
  url: string;
  /** The session cookie's name; detected from the first Set-Cookie when not given. */
  cookieName?: string;
}

function parseTarget(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--target: expected an http(s) URL like http://127.0.0.1:8080/, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--target: expected an http or https URL, got ${JSON.stringify(url)}`);
  }
  return parsed;
}

export function connectTarget(options: TargetOptions): StartedCluster {
  const target = parseTarget(options.url);
  const https = target.protocol === 'https:';
  const port = Number(target.port || (https ? 443 : 80));
  const session = { ...SESSION_DEFAULTS, cookieName: options.cookieName ?? SESSION_DEFAULTS.cookieName };
  const history: History = {
    topology: {
      // Unknown for a system session-lab did not start; the black-box diagnosis does not read it.
      store: 'memory',
      balancer: `target ${target.origin}`,
      launcher: 'target',
      backends: [],
      cookieName: options.cookieName ?? '',
      https,
      site: target.hostname,
      session,
      faults: [],
    },
    requests: [],
    proxy: [],
    backendLog: [],
    events: [],
  };
  const recordEvent = (event: Omit<ClusterEvent, 'time'>): ClusterEvent => {
    const recorded = { time: Date.now(), ...event };
    history.events.push(recorded);
    return recorded;
  };
  const refuse = async (): Promise<never> => {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', 'a --target run cannot act on backends (kill, restart, drain): session-lab did not start them');
  };
  const stop = async () => {
    recordEvent({ kind: 'cluster-stopped' });
  };
  return {
    url: target.origin,
    httpsUrl: https ? target.origin : undefined,
    site: { hostname: target.hostname, httpPort: https ? 0 : port, httpsPort: https ? port : undefined, ca: undefined, direct: true },
    backends: [],
    backendNames: [],
    redis: undefined,
    // Whatever store the system has is its own business: nothing provisioned here.
    store: { kind: 'memory', backendConfig: { store: 'memory', writes: 'whole', keyPrefix: '' }, env: {}, redis: undefined, stop: async () => {} },
    keyPrefix: '',
    history,
    options: {
      servers: 0,
      store: 'memory',
      balancer: 'round-robin',
      https,
      site: target.hostname,
      session,
      faults: [],
      recordBackendLog: false,
      recordProxyHistory: false,
      app: undefined,
      runtime: 'process',
      proxyEngine: CLUSTER_DEFAULTS.proxyEngine,
    },
    siteUrl: (scheme = https ? 'https' : 'http') => (scheme === target.protocol.slice(0, -1) ? `${target.origin}/` : `${scheme}://${target.hostname}/`),
    killBackend: refuse,
    restartBackend: refuse,
    pauseBackend: refuse,
    drainBackend: () => {
      throw new HarnessError('SLAB_ERR_OPTION_INVALID', 'a --target run cannot drain backends: session-lab did not start them');
    },
    recordEvent,
    takeProxyRecord: () => undefined,
    takeTapRecord: () => undefined,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
