/**
 * The balancer's listeners: http on 127.0.0.1 port 0 and, for an https
 * front, a second one with TLS terminated here. WebSocket upgrades are
 * refused with 501: neither forwarding engine carries them.
 */
import { createServer, IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { HarnessError } from '../errors.js';

export interface TlsMaterial {
  key: string;
  cert: string;
}

/** A client request with room for the balancer's per-request state, so no side table is needed. */
export class BalancerRequest<State = unknown> extends IncomingMessage {
  slab: State | undefined = undefined;
  constructor(socket: Socket) {
    super(socket);
  }
}

export type Scheme = 'http' | 'https';

export interface ListenerHandlers {
  request(scheme: Scheme, req: BalancerRequest, res: ServerResponse): void;
  /** An Upgrade request; the listener answers 501 itself after this. */
  upgrade(scheme: Scheme, req: IncomingMessage): void;
}

export interface Listeners {
  httpPort: number;
  httpsPort: number | undefined;
  stop(): Promise<void>;
}

const UPGRADE_BODY = JSON.stringify({ error: 'balancer: WebSocket and other protocol upgrades are not supported' });
const UPGRADE_REFUSAL = `HTTP/1.1 501 Not Implemented\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(UPGRADE_BODY)}\r\nconnection: close\r\n\r\n` + UPGRADE_BODY;

async function listen(server: Server, what: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new HarnessError('SLAB_ERR_LISTEN', `balancer: cannot listen on 127.0.0.1 (${what}): ${error.message}`, { cause: error })));
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startListeners(handlers: ListenerHandlers, tls: TlsMaterial | undefined): Promise<Listeners> {
  const servers: Server[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= Promise.all(servers.map(closeServer)).then(() => {}));
  const setUp = (server: Server, scheme: Scheme) => {
    server.keepAliveTimeout = 30_000;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      handlers.upgrade(scheme, req);
      socket.on('error', () => {});
      socket.end(UPGRADE_REFUSAL);
    });
    servers.push(server);
    return server;
  };
  try {
    const options = { IncomingMessage: BalancerRequest };
    const http = setUp(
      createServer(options, (req, res) => handlers.request('http', req as BalancerRequest, res)),
      'http',
    );
    const httpPort = await listen(http, 'http');
    let httpsPort: number | undefined;
    if (tls) {
      const https = createHttpsServer({ ...options, key: tls.key, cert: tls.cert }, (req, res) => handlers.request('https', req as BalancerRequest, res));
      httpsPort = await listen(setUp(https as unknown as Server, 'https'), 'https');
    }
    return { httpPort, httpsPort, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
