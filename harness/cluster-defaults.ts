/**
 * What a cluster is when its options leave something out, apart from
 * cluster.ts so that the CLI can name the defaults while it checks its
 * input, before it loads anything that starts a cluster.
 */
import { DEFAULT_ENGINE } from './balancer/engine/engine.js';
import type { ClusterOptions } from './cluster.js';

export const CLUSTER_DEFAULTS = {
  servers: 3,
  store: 'memory',
  balancer: 'round-robin',
  https: false,
  site: 'shop.example.test',
  recordBackendLog: true,
  recordProxyHistory: true,
  runtime: 'process',
  proxyEngine: DEFAULT_ENGINE,
} as const satisfies Partial<ClusterOptions>;
