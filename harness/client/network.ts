/**
 * The virtual users' view of the network: the site's hostname (say
 * shop.example.test) resolves to the balancer on 127.0.0.1, port 80 to its
 * http listener and 443 to its https one, and TLS is verified against the
 * cluster's own certificate. So URLs read as on a real site
 * (`https://shop.example.test/drafts`), and the jar applies the Secure,
 * Domain and SameSite rules of a remote site, not the relaxed ones
 * browsers keep for localhost.
 */
import { isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';

export interface Site {
  hostname: string;
  httpPort: number;
  httpsPort: number | undefined;
  /** PEM certificate the https listener presents. */
  ca: string | undefined;
  /** A real system (--target): every hostname resolves as usual, nothing is redirected to a balancer. */
  direct?: boolean;
}

export interface NetworkOptions {
  connections?: number;
  /** The loopback address connections come from (127.0.x.y), so users can look like different clients. */
  localAddress?: string;
}

/** The i-th client address (from 0): 127.0.1.1, 127.0.1.2, … 127.0.1.254, 127.0.2.1, … */
export function clientAddress(index: number): string {
  return `127.0.${1 + (Math.floor(index / 254) % 254)}.${1 + (index % 254)}`;
}

function connectError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** An undici dispatcher that reaches `site` by name, and loopback addresses as they are. */
export function createSiteDispatcher(site: Site, { connections = 256, localAddress }: NetworkOptions = {}): Agent {
  const connector = buildConnector({ ca: site.ca, timeout: 10_000 });
  const apex = site.hostname.split('.').slice(1).join('.');
  return new Agent({
    connections,
    keepAliveTimeout: 10_000,
    // undici passes it to connect() below with every connection.
    localAddress,
    connect(options, callback) {
      const { hostname, protocol } = options;
      if (site.direct || hostname === 'localhost' || isIP(hostname)) {
        connector(options, callback);
        return;
      }
      // The site and its sibling hosts (other.example.test) all live on the balancer.
      if (hostname !== site.hostname && !hostname.endsWith(`.${apex}`)) {
        callback(connectError('ENOTFOUND', `getaddrinfo ENOTFOUND ${hostname}`), null);
        return;
      }
      const defaultPort = protocol === 'https:' ? '443' : '80';
      const port = protocol === 'https:' ? site.httpsPort : site.httpPort;
      if (options.port && String(options.port) !== defaultPort) {
        callback(connectError('ECONNREFUSED', `connect ECONNREFUSED ${hostname}:${options.port} (the site listens on ${defaultPort} only)`), null);
        return;
      }
      if (port === undefined) {
        callback(connectError('ECONNREFUSED', `connect ECONNREFUSED ${hostname}:443 (the cluster has no https front)`), null);
        return;
      }
      connector({ ...options, hostname: '127.0.0.1', port: String(port), servername: hostname }, callback);
    },
  });
}
