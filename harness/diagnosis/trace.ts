/**
 * Pass 1 of the diagnosis: what the backends did with each session id, in
 * send order across all users, and each request's view of the ids it
 * carried and held as they stood when it was sent.
 */
import { sessionIdHash } from '../../servers/session/session-id.js';
import type { History, RequestRecord } from '../history/history.js';

/** What the backends did with one session id (by hash), across all users. */
export interface SessionTrace {
  backend: string | undefined;
  step: number;
  request: string;
  /** Backends whose store is known to have held it. */
  heldBy: Set<string>;
  /** The last write or touch that set its TTL: sent at `lastWriteFrom`, answered by `lastWriteTo`. */
  lastWriteFrom: number;
  lastWriteTo: number;
  lastWriteStep: number;
  /** Reads since the last write that did not refresh the TTL. */
  readsSinceWrite: number;
  /** The login the session carried in the backend's last answer about it. */
  user: string | undefined;
  /** The request that logged in (kept across new ids, as the server keeps its login time): the absolute limit counts from it. */
  login?: { from: number; to: number; step: number };
  /** The session was ended on purpose: destroyed by a logout, replaced by a new id (regenerate), or expired by its backend. */
  ended?: { how: 'logout' | 'rotated' | 'expired'; time: number; answered: number; step: number; request: string };
}

/** When a request that carried an id got it destroyed (a logout): sent at `time`. */
export interface Logout {
  time: number;
  step: number;
  request: string;
}

/** The traces of the id a request sent and the id its jar held, as they stood when it was sent. */
export interface TraceView {
  sent?: SessionTrace;
  inJar?: SessionTrace;
  /**
   * The first logout of the id this request sent, whenever it was sent — also
   * after this request left: concurrent requests of one user (a logout while
   * an add is on its way) reach the store in any order.
   */
  sentLogout?: Logout;
}

export const describe = (r: RequestRecord) => `${r.method} ${r.path}`;
/** An id's hash; a history file written redacted (`#` + the hash, history/redact.ts) already holds it. */
export const hashOf = (id: string | undefined) => (id === undefined ? undefined : REDACTED_ID.test(id) ? id.slice(1) : sessionIdHash(id));
const REDACTED_ID = /^#[0-9a-f]{8}$/;

/**
 * Request `r` left after `time` (an answer's arrival): its send time is read
 * from Date.now(), whole milliseconds rounded down, so it may read up to 1 ms
 * early against a duration measured to the microsecond.
 */
export const sentAfter = (r: RequestRecord, time: number) => r.time + 1 > time;

const copy = (trace: SessionTrace | undefined) => trace && { ...trace, heldBy: new Set(trace.heldBy) };

export function traceSessions(history: History): Map<RequestRecord, TraceView> {
  const traces = new Map<string, SessionTrace>();
  const views = new Map<RequestRecord, TraceView>();
  const logouts = new Map<string, Logout>();
  for (const r of [...history.requests].sort((a, b) => a.time - b.time)) {
    const sent = hashOf(r.sessionIdSent);
    const inJar = hashOf(r.sessionIdInJar);
    views.set(r, { sent: sent ? copy(traces.get(sent)) : undefined, inJar: inJar ? copy(traces.get(inJar)) : undefined });
    if (r.error || !r.backend) continue;
    // The id this request carried, ended by it on purpose.
    const carried = sent ? traces.get(sent) : undefined;
    const endedHow =
      r.sessionStatus === 'destroyed'
        ? 'logout'
        : r.sessionStatus === 'expired'
          ? 'expired'
          : r.sessionStatus === 'loaded' && r.backendSessionHash && r.backendSessionHash !== sent
            ? 'rotated'
            : undefined;
    // The first end counts, but a logout the user asked for later is what ended it for them.
    if (sent && r.sessionStatus === 'destroyed' && !logouts.has(sent)) logouts.set(sent, { time: r.time, step: r.step, request: describe(r) });
    if (carried && endedHow && (!carried.ended || (endedHow === 'logout' && carried.ended.how !== 'logout'))) {
      carried.ended = { how: endedHow, time: r.time, answered: r.time + r.durationMs, step: r.step, request: describe(r) };
    }
    const hash = r.backendSessionHash;
    if (!hash) continue;
    let trace = traces.get(hash);
    if (!trace) {
      trace = {
        backend: r.backend,
        step: r.step,
        request: describe(r),
        heldBy: new Set(),
        lastWriteFrom: r.time,
        lastWriteTo: r.time + r.durationMs,
        lastWriteStep: r.step,
        readsSinceWrite: 0,
        user: undefined,
      };
      traces.set(hash, trace);
    }
    trace.heldBy.add(r.backend);
    if (!trace.login && r.sessionUser && r.sessionStatus !== 'store-error') {
      // Logged in here, or carried over from the id this request replaced (a regenerate keeps the login time).
      trace.login = (carried?.user === r.sessionUser ? carried.login : undefined) ?? { from: r.time, to: r.time + r.durationMs, step: r.step };
    }
    if (r.sessionStatus !== 'store-error') trace.user = r.sessionUser;
    if (r.storeWrite === 'set' || r.storeWrite === 'touch') {
      trace.lastWriteFrom = r.time;
      trace.lastWriteTo = r.time + r.durationMs;
      trace.lastWriteStep = r.step;
      trace.readsSinceWrite = 0;
    } else {
      trace.readsSinceWrite++;
    }
  }
  for (const [r, view] of views) {
    const logout = logouts.get(hashOf(r.sessionIdSent) ?? '');
    if (logout) view.sentLogout = logout;
  }
  return views;
}
