/**
 * From history to verdicts: a pure function, no sockets, no clock.
 *
 * A reset is a virtual user who had a session (or a login) and loses it
 * without asking. Each verdict names one cause, with evidence read off the
 * history — the client's jar, the balancer's in/out records and faults,
 * and the backend's own report of the session (status, id hash, store
 * write, cookie sent or withheld):
 *
 *   replication   the id was made on one backend and the request reached
 *                 another whose own store never had it, or the store that
 *                 had it was lost (a backend restarted, Redis emptied)
 *   transmission  the id did not travel intact: the client withheld or
 *                 refused it, the balancer dropped, trimmed or mangled it,
 *                 or the backend never sent its cookie
 *   code          the application ended or rotated the session itself
 *   expiry        a time limit ran out: idle, absolute, store TTL, cookie
 *   unclassified  the history lacks what would tell; the evidence says what
 */
import { parseCookie } from 'cookie';
import type { History, JarCookie, RequestRecord } from '../history/history.js';
import { RESET_CAUSES, type ResetCause } from './causes.js';
import type { DiagnosisContext, Finding } from './context.js';
import { renderEvidence, type Evidence } from './evidence.js';
import { balancerNotes, delivered, lifetimeAttribute, lostSetCookie } from './lost-cookie.js';
import { unknownIdFinding } from './store-loss.js';
import { describe, hashOf, sentAfter, traceSessions, type SessionTrace } from './trace.js';
import { diagnoseBlackBox, isBlackBox } from './black-box.js';
import { sequences } from './sequences.js';

export { NAMED_CAUSES, RESET_CAUSES } from './causes.js';
export type { ResetCause } from './causes.js';
export type { Evidence, EvidenceKind, EventFact } from './evidence.js';
export { renderEvidence } from './evidence.js';

export interface Verdict {
  user: number;
  run: number;
  /** Which of the user's browsers (cookie jars). */
  browser: number;
  step: number;
  /** `GET /drafts` */
  request: string;
  backend: string | undefined;
  cause: ResetCause;
  /** The evidence as text: renderEvidence(facts). */
  evidence: string;
  /** The evidence as data: the recorded values that prove the cause. */
  facts: Evidence;
  /** The scenario said a reset is expected at this step. */
  expected: boolean;
}

/** A Set-Cookie the client never got: judged at the first later request that shows its effect. */
interface LostCookie extends Finding {
  /** When the answer that lost it arrived: requests sent before could not have carried it. */
  after: number;
  issuedHash: string;
  /** The login the lost session carried. */
  user: string | undefined;
  /** The id the request that lost it carried and replaced on purpose (a login or privilege change destroyed it). */
  rotatedFrom: string | undefined;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  return header ? parseCookie(header)[name] : undefined;
}

/**
 * The session cookie answer `r` set, as the jar took it, when it has a lifetime: expiring at the latest
 * its own Max-Age after the answer arrived (counted from receipt), or at its Expires.
 */
function receivedCookie(r: RequestRecord, cookieName: string): JarCookie | undefined {
  const header = r.setCookie.find((h) => h.trimStart().startsWith(`${cookieName}=`));
  if (!header) return undefined;
  const [pair, ...attributes] = header.split(';').map((part) => part.trim());
  const value = decodeURIComponent(pair.slice(pair.indexOf('=') + 1));
  const maxAge = attributes.find((a) => /^max-age=/i.test(a));
  const expires = attributes.find((a) => /^expires=/i.test(a));
  const at = maxAge ? r.time + r.durationMs + Number(maxAge.slice(8)) * 1000 : expires ? Date.parse(expires.slice(8)) : NaN;
  if (!value || !Number.isFinite(at)) return undefined;
  const attribute = (name: string) => attributes.some((a) => a.toLowerCase() === name);
  return { name: cookieName, value, domain: null, path: '/', secure: attribute('secure'), httpOnly: attribute('httponly'), hostOnly: true, sameSite: 'lax', expires: new Date(at).toISOString() };
}

/** Request `q` was answered after `from` and before `to` (a send time): its answer came in between. */
const answeredBetween = (q: RequestRecord, from: number, to: number) => !q.error && q.status !== 0 && q.time + q.durationMs > from && q.time + q.durationMs <= to + 1;

/** Request `r` shows the loss of the session `lost` names: no session, an unknown one, or one without the lost login. */
const showsLoss = (r: RequestRecord, lost: LostCookie) => {
  const status = r.sessionStatus;
  return status === 'created' || status === 'none' || status === 'unknown-id' || (status === 'loaded' && lost.user !== undefined && r.sessionUser !== lost.user);
};

/** Request `q` loaded a working session (or logged out) without showing the loss: the client carried on. */
const worksDespite = (q: RequestRecord, lost: LostCookie) =>
  (q.sessionStatus === 'loaded' || q.sessionStatus === 'destroyed') && !showsLoss(q, lost) && (lost.rotatedFrom === undefined || hashOf(q.sessionIdSent) !== lost.rotatedFrom);

export function diagnose(history: History): Verdict[] {
  // Apps that do not report their sessions are read off the wire instead (black-box.ts).
  if (isBlackBox(history)) return diagnoseBlackBox(history);
  const { topology } = history;
  const cookieName = topology.cookieName;
  const balancer = topology.balancer;
  // Times in evidence are since the run started.
  const runStart = history.events.find((e) => e.kind === 'run-started')?.time ?? Math.min(...history.requests.map((r) => r.time));
  const context: DiagnosisContext = { history, cookieName, session: topology.session, perProcessStore: topology.store === 'memory', balancer, runStart };
  const verdicts: Verdict[] = [];
  // Pass 1: what the backends did with each id, as each request found it.
  const traceAt = traceSessions(history);

  // Pass 2: each browser's requests in step order, each judged by the id it carried.
  for (const sequence of sequences(history.requests)) {
    let pending: LostCookie | undefined;
    /** The last session cookie the jar was seen holding: kept when a later view lacks it because it lapsed. */
    let previousJarCookie: JarCookie | undefined;
    /** The request whose answer put the jar's session cookie there. */
    let cookieSource: RequestRecord | undefined;

    for (const r of sequence) {
      const verdict = ({ cause, facts }: Finding) =>
        verdicts.push({
          user: r.user,
          run: r.run,
          browser: r.browser ?? 1,
          step: r.step,
          request: describe(r),
          backend: r.backend,
          cause,
          evidence: renderEvidence(facts),
          facts,
          expected: r.resetExpected !== false,
        });
      // No response, or a balancer that refused the request: nothing was reset, the request failed.
      if (r.error || r.status === 0 || !r.backend) continue;

      const status = r.sessionStatus;
      const sent = hashOf(r.sessionIdSent);
      const inJar = hashOf(r.sessionIdInJar);
      const { sent: sentTrace, inJar: jarTrace, sentLogout } = traceAt.get(r) ?? {};
      // A session ended on purpose before this request was answered is not reset again.
      const endedBefore = (trace: SessionTrace | undefined) => (trace?.ended && trace.ended.time <= r.time + r.durationMs ? trace.ended : undefined);
      // The jar's cookie ran out on the client's clock: before the request left, or — when no browser rule
      // withheld it — before the answer came (a browser may send a request a while after it was issued).
      const lapsedAt = previousJarCookie?.expires ? Date.parse(previousJarCookie.expires) : undefined;
      const cookieLapsed = lapsedAt !== undefined && (lapsedAt <= r.time || (inJar !== undefined && !r.withheld && lapsedAt <= r.time + r.durationMs));
      // Answers arrive in their own order: a lost Set-Cookie followed (in arrival) by an answer that loaded
      // a working session left no trace, whichever request was sent first (concurrent requests).
      if (pending && sequence.some((q) => q !== r && answeredBetween(q, pending!.after, r.time) && worksDespite(q, pending!))) pending = undefined;
      // The effect of a lost Set-Cookie: a later request without the id it should have carried.
      const lostEffect = pending !== undefined && sentAfter(r, pending.after) && sent !== pending.issuedHash && showsLoss(r, pending);

      if (lostEffect) {
        verdict(pending!);
        pending = undefined;
      } else if (!sent && (status === 'created' || status === 'none')) {
        if (inJar && !endedBefore(jarTrace) && !cookieLapsed) {
          verdict({ cause: 'transmission', facts: r.withheld ? { kind: 'withheld-by-client', rule: r.withheld } : { kind: 'not-sent', session: inJar, url: r.url } });
        } else if (cookieLapsed && !(inJar && endedBefore(jarTrace))) {
          const expiredAt = Date.parse(previousJarCookie!.expires!);
          const attribute = lifetimeAttribute(cookieSource, cookieName, previousJarCookie!.value);
          verdict({
            cause: 'expiry',
            facts: {
              kind: 'cookie-expired',
              cookie: cookieName,
              lifetime: attribute ?? `expires ${previousJarCookie!.expires}`,
              ...(cookieSource ? { receivedAtStep: cookieSource.step, receivedAtMs: cookieSource.time + cookieSource.durationMs - runStart } : {}),
              expiredAtMs: expiredAt - runStart,
              request: describe(r),
              requestAtMs: r.time - runStart,
              // It ran out while the request was on its way: the browser sent it later, without the cookie.
              ...(expiredAt > r.time ? { answeredAtMs: r.time + r.durationMs - runStart } : {}),
              backend: r.backend,
            },
          });
        }
      } else if (sent) {
        const ended = endedBefore(sentTrace);
        if (status === 'destroyed') {
          verdict({ cause: 'code', facts: { kind: 'destroyed', backend: r.backend, session: sent, request: describe(r) } });
        } else if (status === 'expired') {
          verdict({
            cause: 'expiry',
            facts: {
              kind: 'server-expired',
              ...(r.expiredBy === 'idle' || r.expiredBy === 'absolute' ? { limit: r.expiredBy } : {}),
              ...(r.expiredAfterMs !== undefined && r.expiredLimitMs !== undefined ? { measuredMs: r.expiredAfterMs, limitMs: r.expiredLimitMs } : {}),
              backend: r.backend,
              session: sent,
              request: describe(r),
            },
          });
        } else if (status === 'unknown-id') {
          const sentOut = cookieValue(r.proxy?.cookieOut, cookieName);
          const sentIn = cookieValue(r.proxy?.cookieIn, cookieName);
          if (r.proxy && sentIn !== undefined && sentOut !== undefined && sentIn !== sentOut) {
            verdict({ cause: 'transmission', facts: { kind: 'id-altered', session: hashOf(sentIn)!, cookie: cookieName, balancer: balancerNotes(r, balancer) } });
          } else if (ended?.how === 'rotated' && !sentAfter(r, ended.answered)) {
            // Sent while another request was replacing its id: the race lost the session.
            verdict({ cause: 'code', facts: { kind: 'replaced-in-flight', session: sent, replacedAtStep: ended.step, replacedBy: ended.request, atMs: ended.time - runStart } });
          } else if (!ended && r.sessionRejected === 'signature') {
            // The id arrived intact and the backend refused its signature: it signs with another secret than the one that signed it.
            const issuer = sentTrace?.backend;
            verdict(
              issuer && issuer !== r.backend
                ? { cause: 'replication', facts: { kind: 'signature-rejected', session: sent, issuedBy: issuer, issuedAtStep: sentTrace!.step, backend: r.backend, intact: sentOut !== undefined } }
                : { cause: 'unclassified', facts: { kind: 'signature-rejected', session: sent, issuedBy: issuer, issuedAtStep: sentTrace?.step, backend: r.backend, intact: sentOut !== undefined } },
            );
          } else if (!ended) {
            const finding = unknownIdFinding(context, r, sent, sentTrace);
            // Nothing else explains the miss, and the user's own logout of this id left before this
            // request was answered (concurrent requests): the logout got there first. Nothing was reset.
            const loggedOutMeanwhile = finding.cause === 'unclassified' && sentLogout !== undefined && sentLogout.time <= r.time + r.durationMs;
            // The store forgot it while the client still held the cookie: say how long the cookie was to live.
            const attribute = finding.facts.kind === 'ttl-ran-out' ? lifetimeAttribute(cookieSource, cookieName, r.sessionIdSent!) : undefined;
            if (!loggedOutMeanwhile) verdict(attribute && finding.facts.kind === 'ttl-ran-out' ? { ...finding, facts: { ...finding.facts, cookieLifetime: attribute } } : finding);
          }
          // Ended by a logout, by its backend's expiry, or replaced by a new id this browser then lost
          // (reported where the loss showed): that request already said so.
        } else if (status === 'created' || status === 'none') {
          // The backend saw no id at all: find the hop that lost it.
          const proxyIn = cookieValue(r.proxy?.cookieIn, cookieName);
          if (ended) {
            // The session had ended on purpose; losing its id now resets nothing.
          } else if (proxyIn !== undefined && cookieValue(r.proxy?.cookieOut, cookieName) === undefined) {
            verdict({ cause: 'transmission', facts: { kind: 'cookie-not-forwarded', session: hashOf(proxyIn)!, backend: r.backend, cookie: cookieName, balancer: balancerNotes(r, balancer) } });
          } else {
            verdict({ cause: 'unclassified', facts: { kind: 'cookie-lost-unrecorded', session: sent, backend: r.backend } });
          }
        } else if (status === 'loaded' && sentTrace?.user && !r.sessionUser) {
          const rotated = r.backendSessionHash !== undefined && r.backendSessionHash !== sent;
          verdict(
            rotated
              ? { cause: 'code', facts: { kind: 'login-not-kept', backend: r.backend, request: describe(r), user: sentTrace.user } }
              : { cause: 'unclassified', facts: { kind: 'login-removed', backend: r.backend, session: sent, user: sentTrace.user } },
          );
        }
      }

      // What the backend meant the client to hold from now on, and whether it got there.
      const backendHash = r.backendSessionHash;
      if (status !== 'destroyed' && backendHash && backendHash !== sent && !delivered(r, cookieName, backendHash)) {
        const rotatedFrom = status === 'loaded' ? sent : undefined;
        pending = { ...lostSetCookie(context, r, backendHash), after: r.time + r.durationMs, issuedHash: backendHash, user: r.sessionUser, rotatedFrom };
      } else if (pending && sentAfter(r, pending.after) && (status === 'loaded' || status === 'destroyed')) {
        // The client carries on with a session that works, or the user logged out: the lost one left no trace.
        pending = undefined;
      }
      const jarCookie = r.jarAfter.find((c) => c.name === cookieName);
      if (jarCookie && r.setCookie.some((h) => h.trimStart().startsWith(`${cookieName}=${jarCookie.value}`))) cookieSource = r;
      // (Unless a concurrent answer of this browser set the cookie meanwhile: then that answer changed the jar.)
      const concurrentSet = sequence.some(
        (q) => q !== r && q.time + q.durationMs >= r.time && q.time + q.durationMs <= r.time + r.durationMs + 1 && q.setCookie.some((h) => h.trimStart().startsWith(`${cookieName}=`)),
      );
      const received = !jarCookie && backendHash && !concurrentSet && delivered(r, cookieName, backendHash) ? receivedCookie(r, cookieName) : undefined;
      if (received) {
        // Received and kept, yet gone from the jar by the time it was read: its own Max-Age or Expires ran out meanwhile.
        previousJarCookie = received;
        cookieSource = r;
      } else if (!(!jarCookie && lapsedAt !== undefined && lapsedAt <= r.time + r.durationMs && !r.setCookie.some((h) => h.trimStart().startsWith(`${cookieName}=`)))) {
        // (A view without the cookie because it lapsed meanwhile keeps the last one seen: the next request is judged by it.)
        previousJarCookie = jarCookie;
      }
    }
  }
  return verdicts;
}

/** Verdicts counted by cause, every cause present (0 when none). */
export function countByCause(verdicts: readonly Verdict[]): Record<ResetCause, number> {
  const counts = Object.fromEntries(RESET_CAUSES.map((cause) => [cause, 0])) as Record<ResetCause, number>;
  for (const verdict of verdicts) counts[verdict.cause]++;
  return counts;
}

/** Users who used more than one browser: each browser its own jar, its own session — not a reset. */
export interface PersonSessions {
  user: number;
  run: number;
  browsers: number;
  /** Session id hashes each browser ended with. */
  sessions: string[];
  loggedInAs: string[];
}

export function sessionsPerPerson(history: History): PersonSessions[] {
  const people = new Map<string, PersonSessions>();
  for (const sequence of sequences(history.requests)) {
    const last = sequence[sequence.length - 1];
    const key = `${last.user}/${last.run}`;
    let person = people.get(key);
    if (!person) people.set(key, (person = { user: last.user, run: last.run, browsers: 0, sessions: [], loggedInAs: [] }));
    person.browsers++;
    const hash = hashOf(last.sessionIdAfter);
    if (hash) person.sessions.push(hash);
    if (last.sessionUser && !person.loggedInAs.includes(last.sessionUser)) person.loggedInAs.push(last.sessionUser);
  }
  return [...people.values()].filter((person) => person.browsers > 1);
}
