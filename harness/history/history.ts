import type { BackendLogLine } from '../backend/backend-process.js';
import type { SessionSettings } from '../../servers/config.js';
import type { ProxyRecord } from '../balancer/proxy.js';
import type { StoreKind } from '../store/provision-store.js';
import type { BlackBoxRules } from '../diagnosis/wire-view.js';

/**
 * The one history every hop writes into. The diagnosis is a pure function
 * of it (diagnosis/diagnose.ts), so it can be built by hand in unit tests.
 */

/** A cookie as the client's jar held it. */
export interface JarCookie {
  name: string;
  value: string;
  domain: string | null;
  path: string | null;
  secure: boolean;
  httpOnly: boolean;
  /** Sent to its exact host only (no Domain attribute). */
  hostOnly: boolean;
  /** strict | lax | none (tough-cookie's reading of the attribute; none when absent). */
  sameSite: string;
  expires: string | null;
}

/** One request of one virtual user, joined with what the balancer and backend saw. */
export interface RequestRecord {
  /** Virtual user number, from 1. */
  user: number;
  /** Repetition number, from 1; each repetition starts with an empty jar (a new browser). */
  run: number;
  /** Which of the user's browsers (cookie jars) sent it, from 1. */
  browser: number;
  /** Step number within the scenario, from 1. */
  step: number;
  stepName: string;
  method: string;
  path: string;
  url: string;
  requestId: string;
  /** Epoch ms when the client sent the request. */
  time: number;
  durationMs: number;

  /** Client view. */
  cookieSent: string | undefined;
  /** The session id the client sent, if its Cookie header carried one. */
  sessionIdSent: string | undefined;
  /** The session cookie in the jar before the request (whether or not it was sent). */
  sessionIdInJar: string | undefined;
  /** Why the session cookie in the jar was not sent, when it was not. */
  withheld: string | undefined;
  status: number;
  setCookie: string[];
  /** The request body, when it was JSON or text of at most 4 KiB. */
  requestBody: string | undefined;
  /** The response body, when it was at most 4 KiB. */
  responseBody: string | undefined;
  /** Set-Cookie headers the jar refused, and why. */
  refused: { name: string; reason: string }[];
  /** The session id in the jar after the response. */
  sessionIdAfter: string | undefined;
  jarAfter: JarCookie[];
  /** A network error instead of a response. */
  error?: string;

  /** Backend view, from the response headers the reference server adds. */
  backend: string | undefined;
  sessionStatus: string | undefined;
  sessionUser: string | undefined;
  /** Hash of the session id the backend ended the request with (X-Session-Id-Hash). */
  backendSessionHash: string | undefined;
  /** What the backend did to the store: set | touch | destroy | none (X-Session-Write). */
  storeWrite: string | undefined;
  /** Why the backend did not take the id it received (X-Session-Rejected): `signature` — its signature failed. */
  sessionRejected?: string;
  /** Whether the backend sent its session cookie: sent | withheld-insecure | cleared | none (X-Session-Cookie). */
  sessionCookie: string | undefined;
  /** Which limit an expired session passed: idle | absolute (X-Session-Expired). */
  expiredBy: string | undefined;
  /** For an expired session, what the backend measured (idle time or time since login, ms) and the limit it held it to (X-Session-Expired-After / -Limit). */
  expiredAfterMs?: number;
  expiredLimitMs?: number;
  /** A replicated Redis: the node that served the session read, with its replication position on a miss (X-Session-Store-Read). */
  storeRead?: string;
  /** A replicated Redis: the node a session write went to, with its offset just before it (X-Session-Store-Write). */
  storeWriteAt?: string;

  /** Balancer view, joined by request id. */
  proxy: ProxyRecord | undefined;
  /** What the backend itself received and returned, from the tap in front of it, joined by request id (when taps run). */
  tap?: TapRecord;

  /** Black-box apps: the response's Location header (a redirect to the login page says "log in first"). */
  location?: string;
  /** Black-box apps: the backend named by the header the system exposes (--backend-header). */
  servedBy?: string;
  /** Black-box apps: this request sent again, right after, straight to a backend with the same cookies (diagnosis/witness.ts). */
  witnesses?: Witness[];

  /** Scenario context: a reset is expected here (true, or the cause expected). */
  resetExpected: boolean | string;
  /** Expectations of the step that did not hold. */
  failures: string[];
}

/**
 * What one backend received and returned, recorded by a pass-through tap in
 * front of it: the wire at the backend's door, whatever balancer sits
 * before it (the harness's own, nginx, HAProxy).
 */
export interface TapRecord {
  /** Epoch ms when the tap received the request. */
  time: number;
  /** X-Slab-Request-Id as it arrived at the backend. */
  requestId: string | undefined;
  /** The backend behind this tap, e.g. `app-2`. */
  backend: string;
  method: string;
  path: string;
  /** Host header as received. */
  host: string | undefined;
  /** Cookie header as received. */
  cookie: string | undefined;
  forwardedProto: string | undefined;
  forwardedFor: string | undefined;
  forwardedHost: string | undefined;
  /** The backend's answer. */
  status: number;
  setCookie: string[];
  durationMs: number;
  /** Set when the backend could not be reached or broke off. */
  error?: string;
}

/**
 * A witness: the same request sent again, right after its answer, straight
 * to one backend with the Cookie header the original carried. It shows
 * whether that backend still accepted the session at that later time.
 */
export interface Witness {
  backend: string;
  method: string;
  path: string;
  time: number;
  status: number;
  /** A Set-Cookie that replaced the session cookie (its value is not kept). */
  newId: boolean;
  location?: string;
  responseBody?: string;
  error?: string;
  /** The run's Redis held a key containing the session id right after (runner/witnesses.ts); absent when it was not asked. */
  storeHeld?: boolean;
}

/** Something that happened to the cluster rather than in a request. */
export interface ClusterEvent {
  time: number;
  kind:
    | 'cluster-started'
    | 'cluster-stopped'
    | 'run-started'
    | 'backend-exited'
    | 'backend-killed'
    | 'backend-restarted'
    // A restarted backend's new process is ready and in rotation again (backend/replicas.ts).
    | 'backend-up'
    | 'backend-drained'
    | 'backend-paused'
    | 'backend-undrained'
    | 'redis-killed'
    | 'redis-restarted'
    | 'redis-paused'
    | 'redis-slowed'
    // Replicated stores (issue 9): each with `topology`, who was primary when.
    | 'store-lag'
    | 'store-partitioned'
    | 'store-healed'
    | 'store-primary-killed'
    | 'store-failover';
  backend?: string;
  /** The fault that caused it, as given (e.g. `kill-backend=app-2,after=20`). */
  fault?: string;
  detail?: string;
  /** A replicated store's topology at the event, e.g. `primary redis-2 (127.0.0.1:P), replica redis-3 (…)`. */
  topology?: string;
  /**
   * A loss that takes a while (a Redis restart: its keeper stops the old
   * process, then a new one starts; a backend restart: its old process
   * stops, behind nginx or HAProxy still answering meanwhile): when what it
   * lost was certainly lost (the old process reaped). `time` is when it began; the store may have
   * served requests until `lostBy`, and what they wrote was lost with it.
   */
  lostBy?: number;
  /** Set while such a loss is under way (no `lostBy` yet): a user's pass may be judged before it is over. */
  ongoing?: boolean;
}

export interface Topology {
  store: StoreKind;
  balancer: string;
  /** How the backends were started: `reference` (the bundled server), `command`, `container` … */
  launcher: string;
  backends: string[];
  cookieName: string;
  https: boolean;
  site: string;
  session: SessionSettings;
  faults: string[];
  /** How a black-box app's answers are read (the scenario's `blackBox` block); see diagnosis/wire-view.ts. */
  blackBox?: BlackBoxRules;
}

export interface History {
  topology: Topology;
  requests: RequestRecord[];
  proxy: ProxyRecord[];
  backendLog: BackendLogLine[];
  events: ClusterEvent[];
}
