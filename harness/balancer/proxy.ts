/**
 * The balancer: picks a backend per request through a BalancingStrategy,
 * applies the run's cookie faults, sets X-Forwarded-*, hands the request to
 * a forwarding engine, and records what it saw.
 *
 *   client ──▶ listeners.ts ──▶ route (this file) ──▶ engine (undici | http-proxy) ──▶ app-N
 *                                  │ faults, strategy        │ proxyReq / proxyRes / end / error
 *                                  └──────── record.ts ◀─────┘
 *
 * Per request it records the Cookie header received and the one forwarded,
 * the Set-Cookie headers returned by the backend and those passed on, the
 * X-Forwarded-Proto sent, the faults that acted, and the status; joined to
 * the client's own record by the X-Slab-Request-Id header. The request's
 * state rides on the request object itself; a request no fault acts on
 * allocates nothing for faults.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CookieFault, FaultAction } from '../fault/fault.js';
import { DEFAULT_ENGINE, type EngineName, type ForwardingEngine, type ProxyRequestHead, type ProxyResponseHead } from './engine/engine.js';
import { createEngine } from './engine/engines.js';
import { overwriteForwarded } from './forwarded.js';
import { startListeners, type BalancerRequest, type Scheme, type TlsMaterial } from './listeners.js';
import { addFaultNote, newRecord, recordedSetCookie, type ProxyRecord } from './record.js';
import type { BalancerTarget, BalancingStrategy, Choice } from './strategy.js';
import { requestIdentity } from './request-identity.js';
import { drawFor } from '../util/seeded.js';

export { REQUEST_ID_HEADER } from './record.js';
export type { FaultNote, ProxyRecord } from './record.js';
export type { TlsMaterial } from './listeners.js';

export interface StartedBalancer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly httpPort: number;
  /** https://127.0.0.1:PORT, when started with TLS. */
  readonly httpsUrl: string | undefined;
  readonly httpsPort: number | undefined;
  readonly strategy: BalancingStrategy;
  /** The forwarding engine in use. */
  readonly engine: EngineName;
  stop(): Promise<void>;
}

export interface StartBalancerOptions {
  targets: readonly BalancerTarget[];
  strategy: BalancingStrategy;
  onRecord: (record: ProxyRecord) => void;
  faults?: readonly CookieFault[];
  /** Also listen on https with this key and certificate. */
  tls?: TlsMaterial;
  /** Picks whether a fault acts on a request; Math.random unless given. */
  random?: () => number;
  /** The run's seed: whether a fault @p acts on a request the runner sent is drawn from it and the request's identity (replayable). */
  seed?: number;
  /** How requests reach the backends: undici (default) or http-proxy. */
  engine?: EngineName;
}

/** One request in flight; it lives on the request (`req.slab`) until its record is handed over. */
interface InFlight {
  record: ProxyRecord;
  started: number;
  faults: readonly CookieFault[];
  choice: Choice | undefined;
  /** The URL the request went to: a restart may have moved the target since. */
  url: string | undefined;
}

type Req = BalancerRequest<InFlight>;

const NO_FAULTS: readonly CookieFault[] = [];

function jsonAnswer(res: ServerResponse, status: number, error: string, close = false): void {
  const body = JSON.stringify({ error });
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

class Balancer {
  constructor(
    private readonly targets: readonly BalancerTarget[],
    readonly strategy: BalancingStrategy,
    private readonly onRecord: (record: ProxyRecord) => void,
    private readonly faults: readonly CookieFault[],
    private readonly random: () => number,
    readonly engine: ForwardingEngine,
    private readonly seed: number | undefined,
  ) {
    engine.on('proxyReq', (head, req) => this.#onProxyRequest(head, req as Req));
    engine.on('proxyRes', (head, req) => this.#onProxyResponse(head, req as Req));
    engine.on('end', (req, _res, head) => this.finish(req as Req, head.statusCode ?? 0));
    engine.on('error', (error, req, res) => this.#onError(error, req as Req, res));
    // The client went away first: as nginx logs it.
    engine.on('abort', (req) => this.finish(req as Req, 499, 'client closed the connection'));
  }

  #apply(entry: InFlight, act: (fault: CookieFault) => FaultAction | undefined): FaultAction | undefined {
    let rejection: FaultAction | undefined;
    for (const fault of entry.faults) {
      const action = act(fault);
      if (!action) continue;
      addFaultNote(entry.record, { fault: fault.spec, note: action.note });
      if (action.reject) rejection ??= action;
    }
    return rejection;
  }

  #actingFaults(req: IncomingMessage): readonly CookieFault[] {
    const faults = this.faults;
    if (faults.length === 0) return NO_FAULTS;
    const id = this.seed === undefined ? undefined : requestIdentity(req);
    const draw = (index: number) => (id ? drawFor(this.seed!, `fault:${index}:${id.user}.${id.run}.${id.step}`) : this.random());
    return faults.filter((fault, index) => fault.probability >= 1 || draw(index) < fault.probability);
  }

  /** Hands the record over, once: whichever of end, error, rejection or client close comes first. */
  finish(req: Req, status: number, error?: string): void {
    const entry = req.slab;
    if (!entry) return;
    req.slab = undefined;
    if (entry.choice) entry.choice.target.inFlight--;
    const record = entry.record;
    record.status = status;
    record.durationMs = performance.now() - entry.started;
    if (error) record.error = error;
    this.onRecord(record);
  }

  handle(scheme: Scheme, req: Req, res: ServerResponse): void {
    const faults = this.#actingFaults(req);
    const entry: InFlight = { record: newRecord(req, scheme), started: performance.now(), faults, choice: undefined, url: undefined };
    // Settled here (a rejection, none up) or by the engine's end, error or abort.
    req.slab = entry;
    const rejection = faults.length ? this.#apply(entry, (fault) => fault.onRequest?.(req)) : undefined;
    if (rejection?.reject) {
      jsonAnswer(res, rejection.reject.status, `balancer: ${rejection.reject.message}`, true);
      this.finish(req, rejection.reject.status);
      return;
    }
    const choice = this.#pick(req);
    if (!choice) {
      jsonAnswer(res, 503, 'balancer: no backend is up');
      this.finish(req, 503, 'no backend up');
      return;
    }
    entry.choice = choice;
    choice.target.inFlight++;
    const record = entry.record;
    record.backend = choice.target.name;
    if (choice.pin) record.pin = choice.pin;
    if (choice.pinnedBefore) record.pinnedBefore = choice.pinnedBefore;
    if (this.strategy.forwardCookie) {
      const cookie = this.strategy.forwardCookie(req.headers.cookie);
      if (cookie === undefined) delete req.headers.cookie;
      else req.headers.cookie = cookie;
    }
    overwriteForwarded(req, scheme);
    entry.url = choice.target.url;
    this.engine.web(req, res, entry.url);
  }

  #pick(req: IncomingMessage): Choice | undefined {
    const targets = this.targets;
    let allUp = true;
    for (const target of targets) if (!target.up) allUp = false;
    const up = allUp ? targets : targets.filter((target) => target.up);
    return up.length === 0 ? undefined : this.strategy.pick(req, up, targets);
  }

  upgrade(scheme: Scheme, req: IncomingMessage): void {
    const record = newRecord(req, scheme);
    record.status = 501;
    record.error = 'protocol upgrade refused';
    this.onRecord(record);
  }

  #onProxyRequest(head: ProxyRequestHead, req: Req): void {
    const entry = req.slab;
    if (!entry) return;
    if (entry.faults.length) this.#apply(entry, (fault) => fault.onProxyRequest?.(head));
    entry.record.cookieOut = head.getHeader('cookie') as string | undefined;
    entry.record.forwardedProto = head.getHeader('x-forwarded-proto') as string | undefined;
  }

  #onProxyResponse(head: ProxyResponseHead, req: Req): void {
    const entry = req.slab;
    if (!entry) return;
    entry.record.setCookie = recordedSetCookie(head.headers);
    // Response faults and the strategy change the headers before the client gets them.
    if (entry.faults.length) this.#apply(entry, (fault) => fault.onResponse?.(head));
    if (entry.choice && this.strategy.onResponse) this.strategy.onResponse(req, head, entry.choice);
    entry.record.setCookieOut = recordedSetCookie(head.headers);
  }

  #onError(error: Error, req: Req, res: ServerResponse): void {
    const message = (error as NodeJS.ErrnoException).code ?? error.message;
    // Passive health check: a refused connection means the backend is gone —
    // unless a restart put a new process behind the target since this request left.
    const target = req.slab?.choice?.target;
    if (target && message === 'ECONNREFUSED' && target.url === req.slab?.url) target.up = false;
    // Once the head is out the client got the backend's status, cut short; before, the balancer's 502.
    this.finish(req, res.headersSent ? res.statusCode : 502, message);
    if (!res.headersSent && !res.destroyed) jsonAnswer(res, 502, `balancer: backend unreachable (${message})`);
    else res.destroy();
  }
}

export async function startBalancer({ targets, strategy, onRecord, faults = [], tls, random = Math.random, seed, engine = DEFAULT_ENGINE }: StartBalancerOptions): Promise<StartedBalancer> {
  const forwarding = createEngine(engine);
  const balancer = new Balancer(targets, strategy, onRecord, faults, random, forwarding, seed);
  let listeners;
  try {
    listeners = await startListeners(
      {
        request: (scheme, req, res) => balancer.handle(scheme, req as Req, res),
        upgrade: (scheme, req) => balancer.upgrade(scheme, req),
      },
      tls,
    );
  } catch (error) {
    await forwarding.close();
    throw error;
  }
  const { httpPort, httpsPort } = listeners;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= listeners.stop().then(() => forwarding.close()));
  return {
    url: `http://127.0.0.1:${httpPort}`,
    httpPort,
    httpsUrl: httpsPort ? `https://127.0.0.1:${httpsPort}` : undefined,
    httpsPort,
    strategy,
    engine: forwarding.name,
    stop,
  };
}
