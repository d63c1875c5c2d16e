/**
 * The http-proxy forwarding engine (http-proxy 1.18 with a keep-alive
 * agent), the balancer's engine before undici: kept for comparison
 * (`--proxy-engine http-proxy`, `npm run bench`). It forwards what
 * http-proxy forwards, minus hop-by-hop headers, which http-proxy passes
 * on both ways (the client's Connection-listed headers, the backend's
 * Keep-Alive).
 */
import { EventEmitter } from 'node:events';
import { Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import httpProxy from 'http-proxy';
import { connectionTokens, HOP_BY_HOP, type EngineEvents, type ForwardingEngine } from './engine.js';

/** Transfer-Encoding stays on the request: node's ClientRequest frames the piped body by it. */
const REQUEST_HOP_BY_HOP = [...HOP_BY_HOP].filter((name) => name !== 'transfer-encoding');

export class HttpProxyEngine extends EventEmitter implements ForwardingEngine {
  readonly name = 'http-proxy';
  // Without a keep-alive agent http-proxy opens a new backend connection per
  // request: 3.3k vs 10.6k req/s measured on a 2-core machine.
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 1000 });
  // X-Forwarded-* are set by the balancer (overwritten, not appended to), so xfwd is off.
  readonly #proxy = httpProxy.createProxyServer({ agent: this.#agent, xfwd: false });
  #closed = false;

  constructor() {
    super();
    // Registered first: hop-by-hop headers are gone before the balancer's listeners see the heads.
    this.#proxy.on('proxyReq', (proxyReq: ClientRequest, req: IncomingMessage, res: ServerResponse) => {
      for (const name of REQUEST_HOP_BY_HOP) proxyReq.removeHeader(name);
      for (const name of connectionTokens(req.headers.connection)) proxyReq.removeHeader(name);
      // http-proxy leaves the backend request running when the client goes away; end it, as the undici engine does.
      res.once('close', () => {
        if (res.writableFinished) return;
        proxyReq.destroy();
        this.emit('abort', req, res);
      });
      this.emit('proxyReq', proxyReq, req, res);
    });
    this.#proxy.on('proxyRes', (proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse) => {
      const headers = proxyRes.headers;
      const listed = connectionTokens(headers.connection);
      // Without the backend's Connection, http-proxy sets the client's own; Transfer-Encoding frames what it pipes.
      for (const name of HOP_BY_HOP) if (name !== 'transfer-encoding') delete headers[name];
      for (const name of listed) delete headers[name];
      // http-proxy ignores a backend that dies mid-response: its pipe never ends the client's
      // response. Report it as an error, as the undici engine does.
      proxyRes.once('close', () => {
        if (!proxyRes.complete) this.emit('error', Object.assign(new Error('backend closed the connection mid-response'), { code: 'ECONNRESET' }), req, res);
      });
      this.emit('proxyRes', proxyRes, req, res);
    });
    this.#proxy.on('end', (req: IncomingMessage, res: ServerResponse, proxyRes: IncomingMessage) => this.emit('end', req, res, proxyRes));
    this.#proxy.on('error', (error: Error, req: IncomingMessage, res: unknown) => this.emit('error', error, req, res as ServerResponse));
    // http-proxy reports a client that went away as `econnreset`, not `error`; the balancer sees the response close.
    this.#proxy.on('econnreset', () => {});
  }

  override on<E extends keyof EngineEvents>(event: E, listener: EngineEvents[E]): this {
    return super.on(event, listener);
  }

  web(req: IncomingMessage, res: ServerResponse, target: string): void {
    this.#proxy.web(req, res, { target });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#proxy.close();
    this.#agent.destroy();
  }
}

export function createHttpProxyEngine(): HttpProxyEngine {
  return new HttpProxyEngine();
}
