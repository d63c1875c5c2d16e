/**
 * The store did not know the id a request carried (unknown-id): misrouted,
 * lost with a backend or Redis, cut off mid-rotation, or run out of TTL —
 * whichever the recorded times prove first (RULES.md, "The store did not
 * know the id").
 */
import type { ClusterEvent, RequestRecord } from '../history/history.js';
import { eventFact, type DiagnosisContext, type Finding } from './context.js';
import { losesBackend, type EventFact } from './evidence.js';
import { describe, type SessionTrace } from './trace.js';
import { explainStoreMiss } from './store-replication.js';

/** The session's TTL window: certainly alive before `aliveUntil` (last write sent + TTL), certainly gone by `expiredBy` (answered + TTL). */
const ttlWindow = (context: DiagnosisContext, trace: SessionTrace) => ({
  aliveUntil: trace.lastWriteFrom + context.session.ttlMs,
  expiredBy: trace.lastWriteTo + context.session.ttlMs,
});

/** A limit of the server's that ends a session: its store TTL, the idle limit since its last write, the absolute limit since login. */
interface Limit {
  limit: 'ttl' | 'idle' | 'absolute';
  ms: number;
  aliveUntil: number;
  expiredBy: number;
}

/**
 * When the session's time was up, by every limit the topology records: certainly alive before
 * `aliveUntil` (the earliest any limit could have ended it), certainly over by `expiredBy` (the
 * earliest any limit certainly ended it), and the limit that did. The idle clock restarts at each
 * load, which the server writes (idle limit on), so the last write is the last visit.
 */
function lifetime(context: DiagnosisContext, trace: SessionTrace): Limit {
  const { ttlMs, idleTimeoutMs, absoluteTimeoutMs } = context.session;
  const limits: Limit[] = [{ limit: 'ttl', ms: ttlMs, ...ttlWindow(context, trace) }];
  if (idleTimeoutMs > 0) limits.push({ limit: 'idle', ms: idleTimeoutMs, aliveUntil: trace.lastWriteFrom + idleTimeoutMs, expiredBy: trace.lastWriteTo + idleTimeoutMs });
  if (absoluteTimeoutMs > 0 && trace.login) {
    limits.push({ limit: 'absolute', ms: absoluteTimeoutMs, aliveUntil: trace.login.from + absoluteTimeoutMs, expiredBy: trace.login.to + absoluteTimeoutMs });
  }
  const first = limits.reduce((a, b) => (b.expiredBy < a.expiredBy ? b : a));
  return { ...first, aliveUntil: Math.min(...limits.map((l) => l.aliveUntil)) };
}

/** The time was up by a limit before `r` left (or before `before`, a store loss, happened). */
function timeRanOut(context: DiagnosisContext, r: RequestRecord, trace: SessionTrace, hash: string, life: Limit, before?: EventFact): Finding {
  if (life.limit === 'ttl') return ttlRanOut(context, r, trace, hash, before);
  const since = life.limit === 'idle' ? { step: trace.lastWriteStep, at: trace.lastWriteTo } : { step: trace.login!.step, at: trace.login!.to };
  return {
    cause: 'expiry',
    facts: {
      kind: 'limit-ran-out',
      limit: life.limit,
      limitMs: life.ms,
      session: hash,
      sinceStep: since.step,
      sinceMs: r.time - since.at,
      goneByMs: life.expiredBy - context.runStart,
      ...(before ? { before } : {}),
    },
  };
}

function ttlRanOut(context: DiagnosisContext, r: RequestRecord, trace: SessionTrace, hash: string, before?: EventFact): Finding {
  const { session, runStart } = context;
  return {
    cause: 'expiry',
    facts: {
      kind: 'ttl-ran-out',
      session: hash,
      ttlMs: session.ttlMs,
      lastWriteStep: trace.lastWriteStep,
      sinceWriteMs: r.time - trace.lastWriteTo,
      goneByMs: ttlWindow(context, trace).expiredBy - runStart,
      ...(before ? { before } : {}),
      ...(!session.rolling && trace.readsSinceWrite > 0 ? { readsNotRefreshing: trace.readsSinceWrite } : {}),
    },
  };
}

/**
 * When a loss was certainly over: a restart's `lostBy` (the old Redis or backend process gone), not
 * yet while it is under way, else the moment it was recorded.
 */
const lostBy = (e: ClusterEvent) => (e.ongoing ? Infinity : (e.lostBy ?? e.time));

const isCrash = (e: ClusterEvent) => e.kind === 'backend-killed' || e.kind === 'backend-restarted';

/** A crash of `backend` while `f` was in flight: it began before the answer, and was not over before `f` was sent. */
const crashDuring = (f: RequestRecord, backend: string) => (e: ClusterEvent) => e.backend === backend && isCrash(e) && e.time <= f.time + f.durationMs && lostBy(e) >= f.time;

export function unknownIdFinding(context: DiagnosisContext, r: RequestRecord, hash: string, trace: SessionTrace | undefined): Finding {
  const { history, perProcessStore, runStart } = context;
  if (!trace) return { cause: 'unclassified', facts: { kind: 'unknown-origin', backend: r.backend ?? 'an unknown backend', session: hash } };
  const created = { session: hash, createdOn: trace.backend, createdAtStep: trace.step, createdBy: trace.request };
  // An event counts if it came before the answer: the request may have left before it and arrived after.
  const answered = r.time + r.durationMs;
  const life = lifetime(context, trace);
  const { aliveUntil, expiredBy } = life;
  /**
   * Something that happened to `backend` in (from, to]: a kill, restart, exit or drain. A restart
   * counts from when it began until its old process was gone (`lostBy`): behind nginx or HAProxy a
   * request may still reach that process meanwhile, and what it wrote went down with it.
   */
  const backendEvent = (backend: string, from: number, to: number) => history.events.find((e) => e.backend === backend && losesBackend(e.kind) && lostBy(e) > from && e.time <= to);

  if (perProcessStore && r.backend && !trace.heldBy.has(r.backend)) {
    // Dead by its TTL before this request left: no backend could have loaded it.
    if (r.time >= expiredBy) return timeRanOut(context, r, trace, hash, life);
    // Where it lived is gone: a sticky or hashed client moved, or round-robin as ever.
    const lost = [...trace.heldBy].map((b) => backendEvent(b, trace.lastWriteFrom - 1, answered)).find((e) => e !== undefined);
    return {
      cause: 'replication',
      facts: {
        kind: 'routed-elsewhere',
        ...created,
        routedTo: r.backend,
        store: 'memory',
        ...(lost ? { loss: eventFact(context, lost) } : {}),
        ...(r.proxy?.pin === 'repinned' && r.proxy.pinnedBefore ? { repinnedFrom: r.proxy.pinnedBefore } : {}),
      },
    };
  }
  // A request on this session that died with its backend: it may have rotated the id
  // (login) and destroyed the old one before the crash, so the new one never arrived.
  const crashed = history.requests.find(
    (f) => f !== r && f.sessionIdSent === r.sessionIdSent && f.time < r.time && (f.error || f.status === 502) && f.proxy?.backend !== undefined && history.events.some(crashDuring(f, f.proxy.backend)),
  );
  if (crashed) {
    const event = history.events.find(crashDuring(crashed, crashed.proxy!.backend!))!;
    return { cause: 'code', facts: { kind: 'cut-off', ...created, cutStep: crashed.step, cutRequest: describe(crashed), loss: eventFact(context, event) } };
  }
  // A replicated store (replicas, Sentinel, Cluster): its own reports may prove where the session was lost.
  const replicated = perProcessStore ? undefined : explainStoreMiss(history, r, hash);
  if (replicated) return { cause: replicated.cause, facts: { kind: 'store-replication', proof: replicated.kind ?? 'unproven', text: replicated.evidence } };
  // A restart that began before this answer and was not over before the last write was sent: the
  // write may have gone to the Redis it emptied (which serves until it is killed, `lostBy`).
  const loss =
    perProcessStore && r.backend
      ? backendEvent(r.backend, trace.lastWriteFrom - 1, answered)
      : history.events.find((e) => e.kind === 'redis-restarted' && lostBy(e) > trace.lastWriteFrom - 1 && e.time <= answered);
  if (loss) {
    // Which came first: the TTL's end or the loss? Only a live session is lost by a restart.
    if (loss.time >= expiredBy) return timeRanOut(context, r, trace, hash, life, eventFact(context, loss));
    // The loss was over by `lostBy`, and before this answer, which found the session gone.
    if (Math.min(lostBy(loss), answered) < aliveUntil) return { cause: 'replication', facts: { kind: 'store-lost', ...created, loss: eventFact(context, loss), aliveUntilMs: aliveUntil - runStart } };
    return {
      cause: 'unclassified',
      facts: {
        kind: 'ttl-or-loss',
        ...created,
        ttlMs: life.ms,
        ...(life.limit !== 'ttl' ? { limit: life.limit } : {}),
        aliveUntilMs: aliveUntil - runStart,
        goneByMs: expiredBy - runStart,
        loss: eventFact(context, loss),
      },
    };
  }
  // No loss recorded: the TTL is the one explanation, if it could have run out by the time the store was asked.
  // (An idle or absolute limit would have been reported as expired by the backend that still had it.)
  if (answered >= ttlWindow(context, trace).aliveUntil) return ttlRanOut(context, r, trace, hash);
  const where = perProcessStore ? `${r.backend ?? 'an unknown backend'}'s own memory` : 'the shared store';
  return { cause: 'unclassified', facts: { kind: 'store-forgot', ...created, where, sinceWriteMs: r.time - trace.lastWriteTo, ttlMs: context.session.ttlMs } };
}
