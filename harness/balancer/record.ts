/**
 * What the balancer records per request: one record shape for every
 * request (every field present from the start, so V8 keeps one hidden
 * class), joined to the client's own record by X-Slab-Request-Id.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-slab-request-id';

export interface FaultNote {
  fault: string;
  note: string;
}

export interface ProxyRecord {
  /** Epoch ms when the balancer received the request. */
  time: number;
  requestId: string | undefined;
  method: string;
  path: string;
  /** http or https: the listener the request came in on. */
  scheme: 'http' | 'https';
  /** The backend chosen; undefined when a fault rejected the request first, or none was up. */
  backend: string | undefined;
  /** The client's address as the balancer saw it. */
  clientAddress: string | undefined;
  /** Sticky strategies: kept, new or re-pinned, and the backend pinned before a re-pin. */
  pin?: 'kept' | 'new' | 'repinned';
  pinnedBefore?: string;
  /** Cookie header as received from the client. */
  cookieIn: string | undefined;
  /** Cookie header as forwarded to the backend. */
  cookieOut: string | undefined;
  /** X-Forwarded-Proto as forwarded to the backend. */
  forwardedProto: string | undefined;
  /** Set-Cookie headers as returned by the backend. */
  setCookie: string[];
  /** Set-Cookie headers as passed on to the client. */
  setCookieOut: string[];
  /** Faults that acted on this request, with what they did. */
  faults: FaultNote[];
  /**
   * The status the client got: the backend's, the balancer's own (502 backend
   * unreachable or failed, 503 none up, 501 WebSocket upgrade, a fault's
   * rejection), or 499 when the client closed the connection first (as nginx logs it).
   */
  status: number;
  durationMs: number;
  /** Set when the backend could not be reached or failed, or the client went away. */
  error?: string;
  /**
   * Read off a black-box balancer's two sides (the client's record and the
   * backend's tap, harness/tap/join.ts) rather than recorded by session-lab's
   * own balancer: it chose no pin and applied no fault of session-lab's.
   */
  fromTap?: boolean;
}

/** Shared by every record no fault acted on; replaced by a fresh list at the first note. */
export const NO_FAULT_NOTES: FaultNote[] = Object.freeze([]) as unknown as FaultNote[];
const NO_SET_COOKIE: string[] = Object.freeze([]) as unknown as string[];

/** A response's Set-Cookie headers for a record: the shared empty list when there are none (most responses). */
export function recordedSetCookie(headers: IncomingHttpHeaders): string[] {
  const value = headers['set-cookie'];
  return value === undefined ? NO_SET_COOKIE : Array.isArray(value) ? value : [value];
}

export function newRecord(req: IncomingMessage, scheme: 'http' | 'https'): ProxyRecord {
  const headers = req.headers;
  return {
    time: Date.now(),
    requestId: headers[REQUEST_ID_HEADER] as string | undefined,
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    scheme,
    backend: undefined,
    clientAddress: req.socket.remoteAddress,
    pin: undefined,
    pinnedBefore: undefined,
    cookieIn: headers.cookie,
    cookieOut: undefined,
    forwardedProto: undefined,
    setCookie: NO_SET_COOKIE,
    setCookieOut: NO_SET_COOKIE,
    faults: NO_FAULT_NOTES,
    status: 0,
    durationMs: 0,
    error: undefined,
  };
}

export function addFaultNote(record: ProxyRecord, note: FaultNote): void {
  if (record.faults === NO_FAULT_NOTES) record.faults = [note];
  else record.faults.push(note);
}
