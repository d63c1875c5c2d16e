/**
 * nginx as the front: `--balancer nginx[:ip-hash|:least-conn|:hash-cookie]`.
 * Runs from PATH as one foreground process (`master_process off`: no worker
 * to orphan) with its own prefix, pid and temp folders in a temp directory
 * — never /etc/nginx, never a fixed port.
 */
import { join } from 'node:path';
import { HarnessError } from '../errors.js';
import { NGINX_TEMPLATE, TEMPLATE_DIR } from './config-template.js';
import type { RealBalancerFlavour, RenderContext } from './real-front.js';

export const NGINX_STRATEGIES = ['round-robin', 'ip-hash', 'least-conn', 'hash-cookie'] as const;
export type NginxStrategy = (typeof NGINX_STRATEGIES)[number];

function balance(strategy: string, { cookieName }: RenderContext): string {
  switch (strategy) {
    case 'ip-hash':
      return 'ip_hash;';
    case 'least-conn':
      return 'least_conn;';
    case 'hash-cookie':
      // nginx names cookie variables $cookie_NAME: a name with "-" or "." has none.
      if (!/^\w+$/.test(cookieName)) {
        throw new HarnessError(
          'SLAB_ERR_OPTION_INVALID',
          `balancer: nginx:hash-cookie needs a session cookie name of letters, digits and "_" (nginx's $cookie_NAME), got ${JSON.stringify(cookieName)}`,
        );
      }
      return `hash $cookie_${cookieName} consistent;`;
    default:
      return '# round-robin: nginx balances round-robin when nothing else is said';
  }
}

const controls = (prefix: string) => `daemon off; master_process off; pid ${join(prefix, 'nginx.pid')};`;

export const nginx: RealBalancerFlavour = {
  kind: 'nginx',
  strategies: NGINX_STRATEGIES,
  template: NGINX_TEMPLATE,
  values: (strategy, context) => ({
    listen: context.listen,
    listen_tls: context.tls
      ? [`listen ${context.tls.listen} ssl;`, `ssl_certificate ${context.tls.certFile};`, `ssl_certificate_key ${context.tls.keyFile};`].join('\n')
      : '# no https listener in this run',
    balance: balance(strategy, context),
    // One line: a user's config keeps its line numbers in nginx -t's messages.
    servers: context.taps.map((tap) => `server 127.0.0.1:${tap.port} max_fails=1 fail_timeout=1s;`).join(' '),
    prefix: context.prefix,
  }),
  checkArgs: (prefix, configFile) => ['-t', '-q', '-p', prefix, '-c', configFile, '-e', 'stderr', '-g', controls(prefix)],
  runArgs: (prefix, configFile) => ['-p', prefix, '-c', configFile, '-e', 'stderr', '-g', controls(prefix)],
  // Written after every listener is bound.
  readyFile: (prefix) => join(prefix, 'nginx.pid'),
  checkCommand: 'nginx -t',
};

/**
 * The nginx config that causes each cookie fault of session-lab's own
 * balancer (docker/nginx/faults/), so a cookie-fault scenario runs behind
 * real nginx too and reports the same cause. cap-cookie has none: nginx
 * does not trim a long Cookie header, it refuses the request (400, as
 * `cap-cookie=BYTES:400`).
 */
export const NGINX_FAULT_CONFIGS: Readonly<Record<string, string>> = {
  'strip-cookie': join(TEMPLATE_DIR, 'nginx', 'faults', 'strip-cookie.conf'),
  'strip-set-cookie': join(TEMPLATE_DIR, 'nginx', 'faults', 'strip-set-cookie.conf'),
  'drop-cookie=sid': join(TEMPLATE_DIR, 'nginx', 'faults', 'drop-cookie-sid.conf'),
  'allow-cookies=csrf': join(TEMPLATE_DIR, 'nginx', 'faults', 'allow-cookies-csrf.conf'),
  'merge-set-cookie': join(TEMPLATE_DIR, 'nginx', 'faults', 'merge-set-cookie.conf'),
  'drop-forwarded-proto': join(TEMPLATE_DIR, 'nginx', 'faults', 'drop-forwarded-proto.conf'),
};
