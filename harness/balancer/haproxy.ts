/**
 * HAProxy as the front: `--balancer haproxy[:source|:cookie-insert|:leastconn]`.
 * Runs from PATH in the foreground (`-db`), one process, its config in a
 * temp directory, on free loopback ports. Servers are health-checked, so a
 * killed backend is taken out and, with cookie-insert, its users are
 * redispatched (and lose memory sessions) as in production.
 */
import { HAPROXY_TEMPLATE } from './config-template.js';
import type { RealBalancerFlavour } from './real-front.js';

export const HAPROXY_STRATEGIES = ['round-robin', 'source', 'cookie-insert', 'leastconn'] as const;
export type HaproxyStrategy = (typeof HAPROXY_STRATEGIES)[number];

const BALANCE: Record<string, string> = {
  'round-robin': 'balance roundrobin',
  source: 'balance source',
  'cookie-insert': 'balance roundrobin\ncookie SERVERID insert indirect nocache',
  leastconn: 'balance leastconn',
};

export const haproxy: RealBalancerFlavour = {
  kind: 'haproxy',
  strategies: HAPROXY_STRATEGIES,
  template: HAPROXY_TEMPLATE,
  values: (strategy, context) => ({
    listen: context.listen,
    listen_tls: context.tls ? `bind ${context.tls.listen} ssl crt ${context.tls.pemFile}` : '# no https listener in this run',
    balance: BALANCE[strategy],
    servers: context.taps.map((tap) => `server ${tap.backend} 127.0.0.1:${tap.port} check inter 250ms fall 1 rise 1${strategy === 'cookie-insert' ? ` cookie ${tap.backend}` : ''}`).join('\n'),
    prefix: context.prefix,
  }),
  checkArgs: (_prefix, configFile) => ['-c', '-q', '-f', configFile],
  runArgs: (_prefix, configFile) => ['-db', '-f', configFile],
  checkCommand: 'haproxy -c',
};
