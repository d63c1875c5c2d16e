/**
 * A forwarding engine: what moves one request from the balancer's listener
 * to the chosen backend and the response back. The balancer (proxy.ts)
 * talks to it through the interface it first had from http-proxy — `web()`
 * plus the `proxyReq`, `proxyRes`, `end` and `error` events, whose listeners
 * may change the headers in flight — so the strategies, the cookie faults
 * and the recording run unchanged on either engine.
 *
 *   client ──▶ node:http listener ──▶ engine.web(req, res, target) ──▶ app-N
 *                                       │ proxyReq: request head, mutable
 *                                       │ proxyRes: response head, mutable, before it is sent
 *                                       │ end | error | abort: how it ended
 *
 * Two engines: `undici` (the default; one undici Pool per backend) and
 * `http-proxy` (http-proxy 1.18 with a keep-alive agent), kept for
 * comparison.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';

export const ENGINE_NAMES = ['undici', 'http-proxy'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];
export const DEFAULT_ENGINE: EngineName = 'undici';

/** The request head on its way to the backend (http-proxy hands a ClientRequest, which has this shape). */
export interface ProxyRequestHead {
  getHeader(name: string): OutgoingHttpHeader | undefined;
  setHeader(name: string, value: OutgoingHttpHeader): unknown;
  removeHeader(name: string): void;
}

/** The backend's response head, before it is copied to the client (an IncomingMessage has this shape). */
export interface ProxyResponseHead {
  statusCode?: number;
  headers: IncomingHttpHeaders;
}

export interface EngineEvents {
  /** The request head is built; listeners may change it before it is sent. */
  proxyReq: (proxyReq: ProxyRequestHead, req: IncomingMessage, res: ServerResponse) => void;
  /** The backend's status and headers arrived; listeners may change the headers before the client gets them. */
  proxyRes: (proxyRes: ProxyResponseHead, req: IncomingMessage, res: ServerResponse) => void;
  /** The backend's response was passed on whole. */
  end: (req: IncomingMessage, res: ServerResponse, proxyRes: ProxyResponseHead) => void;
  /**
   * The backend could not be reached, or failed mid-response. The engine has
   * done nothing to `res`: the listener answers 502 or, when the headers are
   * already out, destroys it.
   */
  error: (error: Error, req: IncomingMessage, res: ServerResponse) => void;
  /**
   * The client closed its connection before the answer was whole; the
   * engine has ended the backend request. The first of end, error and abort
   * settles a request: a listener ignores what comes after (an abort after an
   * error whose answer was cut short).
   */
  abort: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface ForwardingEngine {
  readonly name: EngineName;
  /** Forwards `req` to `target` (an origin, http://127.0.0.1:PORT) and streams the answer to `res`. */
  web(req: IncomingMessage, res: ServerResponse, target: string): void;
  on<E extends keyof EngineEvents>(event: E, listener: EngineEvents[E]): unknown;
  /** Drops the connections to the backends. Idempotent. */
  close(): Promise<void>;
}

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and
 * are never forwarded. Transfer-Encoding is framing, which each hop chooses
 * for itself; the engines re-frame the body.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const NO_TOKENS: readonly string[] = Object.freeze([]);

/** The header names a Connection header lists, lower-cased: hop-by-hop as well. */
export function connectionTokens(connection: string | string[] | undefined): readonly string[] {
  if (connection === undefined) return NO_TOKENS;
  // The common values list no header: no allocation for them.
  if (connection === 'keep-alive' || connection === 'close' || connection === 'Keep-Alive' || connection === 'Close') return NO_TOKENS;
  const text = Array.isArray(connection) ? connection.join(',') : connection;
  const tokens: string[] = [];
  for (const token of text.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') tokens.push(name);
  }
  return tokens;
}
