/**
 * A verdict's evidence as data: the recorded values that prove its cause,
 * one shape per kind of proof (RULES.md says which proves what). Times are
 * ms since the run started; sessions are id hashes (`sid#…`), never ids.
 * `renderEvidence` is the one text rendering (the `evidence` string every
 * verdict also carries); a report renders the same data its own way.
 */
import type { ClusterEvent } from '../history/history.js';

/** A cluster event as evidence: what happened, to which backend, when, by which fault. */
export interface EventFact {
  kind: ClusterEvent['kind'];
  backend?: string;
  atMs: number;
  fault?: string;
  /** A restart's end: the old Redis or backend process certainly gone (ClusterEvent.lostBy), when it came later than `atMs`. */
  lostByMs?: number;
  /** The restart was still under way when this was judged (no `lostByMs` yet). */
  ongoing?: boolean;
}

/** Where a session came from: `sid#…` created on app-1 at step 2 (POST /login). */
export interface Created {
  session: string;
  createdOn: string | undefined;
  createdAtStep: number;
  createdBy: string;
}

/** A session a backend made at a step, for a lost Set-Cookie. */
export interface Made {
  session: string;
  backend: string | undefined;
  step: number;
  request: string;
  user?: string;
}

export type Evidence =
  /** The client kept its cookie off the request, in its own words (Secure, SameSite, Domain, Path). */
  | { kind: 'withheld-by-client'; rule: string }
  | { kind: 'not-sent'; session: string; url: string }
  /** The jar's cookie expired (counted from receipt) before the request. */
  | {
      kind: 'cookie-expired';
      cookie: string;
      lifetime: string;
      receivedAtStep?: number;
      receivedAtMs?: number;
      expiredAtMs: number;
      request: string;
      requestAtMs: number;
      /** Set when it expired after the request was issued and before its answer: the browser sent it later. */
      answeredAtMs?: number;
      backend: string | undefined;
    }
  | { kind: 'destroyed'; backend: string | undefined; session: string; request: string }
  /** The backend expired it, with what it measured and the limit it applied. */
  | { kind: 'server-expired'; limit?: 'idle' | 'absolute'; measuredMs?: number; limitMs?: number; backend: string | undefined; session: string; request: string }
  | { kind: 'id-altered'; session: string; cookie: string; balancer: string }
  | { kind: 'replaced-in-flight'; session: string; replacedAtStep: number; replacedBy: string; atMs: number }
  | { kind: 'cookie-not-forwarded'; session: string; backend: string | undefined; cookie: string; balancer: string }
  | { kind: 'cookie-lost-unrecorded'; session: string; backend: string | undefined }
  | { kind: 'login-not-kept'; backend: string | undefined; request: string; user: string }
  | { kind: 'login-removed'; backend: string | undefined; session: string; user: string }
  /** A Set-Cookie the client never got, and the hop that lost it. */
  | {
      kind: 'set-cookie-lost';
      made: Made;
      cookie: string;
      how: 'withheld-insecure' | 'balancer' | 'refused' | 'unrecorded';
      why?: string;
      balancer?: string;
      refusals?: { name: string; reason: string }[];
    }
  | { kind: 'unknown-origin'; backend: string; session: string }
  | ({ kind: 'routed-elsewhere'; routedTo: string | undefined; store: 'memory'; loss?: EventFact; repinnedFrom?: string } & Created)
  | ({ kind: 'cut-off'; cutStep: number; cutRequest: string; loss: EventFact } & Created)
  | { kind: 'ttl-ran-out'; session: string; ttlMs: number; lastWriteStep: number; sinceWriteMs: number; goneByMs: number; before?: EventFact; readsNotRefreshing?: number; cookieLifetime?: string }
  /** The server's idle limit (since the session's last visit) or absolute limit (since login) ran out before the session was lost or asked for. */
  | { kind: 'limit-ran-out'; limit: 'idle' | 'absolute'; limitMs: number; session: string; sinceStep: number; sinceMs: number; goneByMs: number; before?: EventFact }
  | ({ kind: 'store-lost'; loss: EventFact; aliveUntilMs: number } & Created)
  /** `ttlMs` is the limit's length; `limit` names it when it is not the store TTL. */
  | ({ kind: 'ttl-or-loss'; ttlMs: number; limit?: 'idle' | 'absolute'; aliveUntilMs: number; goneByMs: number; loss: EventFact } & Created)
  | ({ kind: 'store-forgot'; where: string; sinceWriteMs: number; ttlMs: number } & Created)
  /** The backend refused the cookie's signature (X-Session-Rejected: signature): a secret of its own. */
  | { kind: 'signature-rejected'; session: string; issuedBy: string | undefined; issuedAtStep: number | undefined; backend: string; intact: boolean }
  /** An app that reports nothing: what the wire proves (black-box.ts), with the backends it names. */
  | { kind: 'wire'; text: string; backend: string | undefined; issuedBy?: string; session?: string; storeHeld?: boolean }
  // A replicated Redis, explained from its own offsets (store-replication.ts).
  | { kind: 'store-replication'; proof: 'stale-read' | 'lost-at-failover' | 'unproven'; text: string };

export type EvidenceKind = Evidence['kind'];

const label = (hash: string) => `sid#${hash}`;
/** A measured or configured duration, to the millisecond: `1.04 s`, `683 ms` — never rounded into a contradiction. */
export const exact = (ms: number) => (ms >= 1000 ? `${+(ms / 1000).toFixed(3)} s` : `${Math.round(ms)} ms`);
const at = (ms: number) => `at ${exact(Math.max(0, ms))}`;

const BACKEND_LOSS: Partial<Record<ClusterEvent['kind'], string>> = {
  'backend-killed': 'was killed',
  'backend-restarted': 'was restarted',
  'backend-exited': 'exited',
  'backend-drained': 'was taken out of rotation',
};

/** Whether a cluster event loses what a backend's memory held. */
export const losesBackend = (kind: ClusterEvent['kind']) => BACKEND_LOSS[kind] !== undefined;

function event(e: EventFact): string {
  const fault = e.fault ? ` (fault ${e.fault})` : '';
  const old = e.kind === 'redis-restarted' ? 'the old one' : 'the old process';
  const gone = e.lostByMs !== undefined ? `, ${old} serving until it was gone by ${exact(e.lostByMs)}` : e.ongoing ? ', the restart still under way' : '';
  return e.kind === 'redis-restarted' ? `the shared store was restarted empty ${at(e.atMs)}${fault}${gone}` : `${e.backend} ${BACKEND_LOSS[e.kind]} ${at(e.atMs)}${fault}${gone}`;
}

const created = (c: Created) => `${label(c.session)} created on ${c.createdOn} at step ${c.createdAtStep} (${c.createdBy})`;
const made = (m: Made) => `${m.backend} made ${label(m.session)} at step ${m.step} (${m.request})${m.user ? ` for ${m.user}` : ''}`;

/** The one text rendering of evidence. */
export function renderEvidence(e: Evidence): string {
  switch (e.kind) {
    case 'wire':
    case 'store-replication':
      return e.text;
    case 'withheld-by-client':
      return e.rule;
    case 'not-sent':
      return `the jar held ${label(e.session)} but the client did not send it to ${e.url}`;
    case 'cookie-expired': {
      const received = e.receivedAtStep !== undefined && e.receivedAtMs !== undefined ? `, received with step ${e.receivedAtStep} ${at(e.receivedAtMs)}` : '';
      if (e.answeredAtMs !== undefined) {
        return `the ${e.cookie} cookie (${e.lifetime}${received}) expired in the client ${at(e.expiredAtMs)}, after ${e.request} was issued ${at(e.requestAtMs)} and before its answer ${at(e.answeredAtMs)}: no browser rule withheld it, the browser sent the request once it had expired, so ${e.backend} got no session cookie`;
      }
      return `the ${e.cookie} cookie (${e.lifetime}${received}) expired in the client ${at(e.expiredAtMs)}, before ${e.request} ${at(e.requestAtMs)}, so ${e.backend} got no session cookie`;
    }
    case 'destroyed':
      return `${e.backend} destroyed the session ${label(e.session)} at ${e.request}`;
    case 'server-expired': {
      const measured = e.measuredMs !== undefined && e.limitMs !== undefined ? ` ${exact(e.measuredMs)} > limit ${exact(e.limitMs)}` : '';
      const tail = `(${e.backend} expired ${label(e.session)} at ${e.request})`;
      if (e.limit === 'absolute') return `${measured ? `since login${measured}` : 'past its absolute limit'} ${tail}`;
      if (e.limit === 'idle') return `${measured ? `idle${measured}` : 'past its idle limit'} ${tail}`;
      return `${e.backend} reported ${label(e.session)} expired at ${e.request}`;
    }
    case 'id-altered':
      return `client sent ${label(e.session)}, the balancer forwarded a different ${e.cookie} value${e.balancer}`;
    case 'replaced-in-flight':
      return `${label(e.session)} was replaced by a new id at step ${e.replacedAtStep} (${e.replacedBy}) ${at(e.atMs)}, and the old id destroyed, before this request carrying it was answered`;
    case 'cookie-not-forwarded':
      return `client sent ${label(e.session)}, ${e.backend} received no ${e.cookie} cookie${e.balancer}`;
    case 'cookie-lost-unrecorded':
      return `the client sent ${label(e.session)}, yet ${e.backend} saw no session cookie; no balancer record shows where it was lost`;
    case 'login-not-kept':
      return `${e.backend} issued a new id at ${e.request} and the login of ${e.user} was not kept`;
    case 'login-removed':
      return `${e.backend} loaded ${label(e.session)} but it no longer carries the login of ${e.user}; the history does not show who removed it`;
    case 'set-cookie-lost':
      switch (e.how) {
        case 'withheld-insecure':
          return `${made(e.made)}: backend created a session but sent no Set-Cookie — its cookie is Secure and ${e.why}`;
        case 'balancer':
          return `${made(e.made)} and sent Set-Cookie ${e.cookie}; the balancer passed on no separate ${e.cookie} cookie to the client${e.balancer ?? ''}`;
        case 'refused': {
          const own = e.refusals?.find((c) => c.name === e.cookie);
          return own
            ? `${made(e.made)}; the client did not store Set-Cookie ${e.cookie}: ${own.reason}`
            : `${made(e.made)}; the client stored no ${e.cookie} cookie: ${(e.refusals ?? []).map((c) => `${c.name}: ${c.reason}`).join('; ')}`;
        }
        default:
          return `${made(e.made)}, but the client never received its Set-Cookie, and no balancer or client record shows where it was lost`;
      }
    case 'unknown-origin':
      return `${e.backend} did not know ${label(e.session)}, and no backend in this history issued it`;
    case 'routed-elsewhere': {
      const moved = e.repinnedFrom ? `; the balancer re-pinned the user from ${e.repinnedFrom} to ${e.routedTo}` : '';
      return e.loss
        ? `${created(e)}; ${event(e.loss)} and its sessions were in memory${moved}; ${e.routedTo}'s store never had it`
        : `${created(e)}; request routed to ${e.routedTo}, whose store never had it (sessions live in each server's own memory)${moved}`;
    }
    case 'cut-off':
      return `${created(e)}; step ${e.cutStep} (${e.cutRequest}) was cut off when ${event(e.loss)}, mid-request: it had already ended ${label(e.session)} (a login rotates the id), and its answer with the new id never reached the client`;
    case 'ttl-ran-out': {
      const parts = [
        `store TTL ${exact(e.ttlMs)} ran out: ${label(e.session)} was last written at step ${e.lastWriteStep}, ${exact(e.sinceWriteMs)} before this request (gone by ${exact(e.goneByMs)})`,
      ];
      if (e.before) parts.push(`it was gone before ${event(e.before)}, which found nothing of it to lose`);
      if (e.readsNotRefreshing) parts.push(`rolling is off, so the ${e.readsNotRefreshing} read${e.readsNotRefreshing > 1 ? 's' : ''} since did not refresh it`);
      if (e.cookieLifetime) parts.push(`the cookie (${e.cookieLifetime}) outlived it`);
      return parts.join('; ');
    }
    case 'limit-ran-out': {
      const what =
        e.limit === 'idle'
          ? `idle limit ${exact(e.limitMs)} ran out: ${label(e.session)} was last used at step ${e.sinceStep}, ${exact(e.sinceMs)} before this request (gone by ${exact(e.goneByMs)})`
          : `absolute limit ${exact(e.limitMs)} since login ran out: ${label(e.session)} was logged in at step ${e.sinceStep}, ${exact(e.sinceMs)} before this request (gone by ${exact(e.goneByMs)})`;
      return e.before ? `${what}; it was over before ${event(e.before)}, which found nothing of it to lose` : what;
    }
    case 'store-lost': {
      const where = e.loss.kind === 'redis-restarted' ? ', and every session in it was lost' : ' and its sessions were in memory';
      return `${created(e)}; ${event(e.loss)}${where}, while ${label(e.session)} was alive (no time limit of its — TTL, idle, absolute — could end it before ${exact(e.aliveUntilMs)})`;
    }
    case 'ttl-or-loss':
      return `${created(e)}; its ${e.limit === 'idle' ? 'idle limit' : e.limit === 'absolute' ? 'absolute limit (since login)' : 'TTL'} of ${exact(e.ttlMs)} ended between ${exact(e.aliveUntilMs)} and ${exact(e.goneByMs)}, and ${event(e.loss)}, within that window: the history cannot tell which ended it`;
    case 'signature-rejected':
      return e.issuedBy && e.issuedBy !== e.backend
        ? `${label(e.session)} issued by ${e.issuedBy} at step ${e.issuedAtStep}; the request carrying it reached ${e.backend}${e.intact ? ' intact (the balancer forwarded the cookie as sent)' : ''}, which rejected its signature (X-Session-Rejected: signature): ${e.backend} signs cookies with a secret other than ${e.issuedBy}'s (configuration not replicated)`
        : `${label(e.session)} reached ${e.backend}, which rejected its signature (X-Session-Rejected: signature)${e.issuedBy ? `, though ${e.issuedBy} issued it itself at step ${e.issuedAtStep}: its secret changed (a restart with a generated secret?)` : '; the history does not show which backend signed it'}`;
    case 'store-forgot':
      return `${created(e)}; ${e.where} had it, last written ${exact(e.sinceWriteMs)} before (well within its TTL of ${exact(e.ttlMs)}), yet not at this request; the history records no restart or store loss that explains it`;
  }
}
