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
import { sessionIdHash } from '../../servers/session/session-id.js';
import type { ClusterEvent, History, JarCookie, RequestRecord } from '../history/history.js';
import { tapEvidence } from './tap-evidence.js';

/** The four causes a reset can have (session-resets.md). */
export const NAMED_CAUSES = ['replication', 'transmission', 'code', 'expiry'] as const;
export type ResetCause = (typeof NAMED_CAUSES)[number] | 'unclassified';
export const RESET_CAUSES: readonly ResetCause[] = [...NAMED_CAUSES, 'unclassified'];

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
  evidence: string;
  /** The scenario said a reset is expected at this step. */
  expected: boolean;
}

/** What the backends did with one session id (by hash), across all users. */
interface SessionTrace {
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
  /** The session was ended on purpose: destroyed by a logout, replaced by a new id (regenerate), or expired by its backend. */
  ended?: { how: 'logout' | 'rotated' | 'expired'; time: number; answered: number; step: number; request: string };
}

interface Finding {
  cause: ResetCause;
  evidence: string;
}

/** A Set-Cookie the client never got: judged at the first later request that shows its effect. */
interface LostCookie extends Finding {
  /** When the answer that lost it arrived: requests sent before could not have carried it. */
  after: number;
  issuedHash: string;
  /** The login the lost session carried. */
  user: string | undefined;
}

const label = (hash: string) => `sid#${hash}`;
const describe = (r: RequestRecord) => `${r.method} ${r.path}`;
const seconds = (ms: number) =>
  ms >= 120_000 ? `${+(ms / 60_000).toFixed(1)} min` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
/** A measured or configured duration, to the millisecond: `1.04 s`, `683 ms` — never rounded into a contradiction. */
const exact = (ms: number) => (ms >= 1000 ? `${+(ms / 1000).toFixed(3)} s` : `${Math.round(ms)} ms`);
const hashOf = (id: string | undefined) => (id === undefined ? undefined : sessionIdHash(id));

function cookieValue(header: string | undefined, name: string): string | undefined {
  return header ? parseCookie(header)[name] : undefined;
}

function faultNotes(r: RequestRecord, balancer: string): string {
  const notes = r.proxy?.faults ?? [];
  // Behind a black-box balancer the tap's record is the evidence of what it did.
  return notes.length ? ` (${notes.map((f) => `fault ${f.fault}: ${f.note}`).join('; ')})` : tapEvidence(r, balancer);
}

/** The client received a Set-Cookie for session `hash` and kept it (whatever answers changed the jar after). */
function delivered(r: RequestRecord, cookieName: string, hash: string): boolean {
  if (r.refused.some((c) => c.name === cookieName)) return false;
  return r.setCookie.some((header) => {
    const eq = header.indexOf('=');
    if (header.slice(0, eq).trim() !== cookieName) return false;
    const value = header.slice(eq + 1).split(';')[0].trim();
    return value !== '' && sessionIdHash(decodeURIComponent(value)) === hash;
  });
}

/** The Max-Age or Expires attribute the client received for cookie `name`=`value`, as written. */
function lifetimeAttribute(r: RequestRecord | undefined, name: string, value: string): string | undefined {
  const header = r?.setCookie.find((h) => h.trimStart().startsWith(`${name}=${value}`));
  if (!header) return undefined;
  const attribute = header
    .split(';')
    .slice(1)
    .map((a) => a.trim())
    .find((a) => /^max-age=/i.test(a) || /^expires=/i.test(a));
  return attribute;
}

/** Groups records by virtual user, run and browser, each in step order. */
function sequences(requests: readonly RequestRecord[]): RequestRecord[][] {
  const groups = new Map<string, RequestRecord[]>();
  for (const record of requests) {
    const key = `${record.user}/${record.run}/${record.browser ?? 1}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(record);
  }
  return [...groups.values()].map((group) => group.sort((a, b) => a.step - b.step));
}

/**
 * Request `r` left after `time` (an answer's arrival): its send time is read
 * from Date.now(), whole milliseconds rounded down, so it may read up to 1 ms
 * early against a duration measured to the microsecond.
 */
const sentAfter = (r: RequestRecord, time: number) => r.time + 1 > time;

const copy = (trace: SessionTrace | undefined) => trace && { ...trace, heldBy: new Set(trace.heldBy) };

export function diagnose(history: History): Verdict[] {
  const { topology } = history;
  const cookieName = topology.cookieName;
  const session = topology.session;
  const perProcessStore = topology.store === 'memory';
  const verdicts: Verdict[] = [];

  // Pass 1, in time order across all users: what each backend did with each id,
  // and the trace of the ids a request carried and held as they stood when it was sent.
  const traces = new Map<string, SessionTrace>();
  const traceAt = new Map<RequestRecord, { sent?: SessionTrace; inJar?: SessionTrace }>();
  for (const r of [...history.requests].sort((a, b) => a.time - b.time)) {
    const sent = hashOf(r.sessionIdSent);
    const inJar = hashOf(r.sessionIdInJar);
    traceAt.set(r, { sent: sent ? copy(traces.get(sent)) : undefined, inJar: inJar ? copy(traces.get(inJar)) : undefined });
    if (r.error || !r.backend) continue;
    // The id this request carried, ended by it on purpose.
    const carried = sent ? traces.get(sent) : undefined;
    const endedHow = r.sessionStatus === 'destroyed' ? 'logout' : r.sessionStatus === 'expired' ? 'expired' : r.sessionStatus === 'loaded' && r.backendSessionHash && r.backendSessionHash !== sent ? 'rotated' : undefined;
    // The first end counts, but a logout the user asked for later is what ended it for them.
    if (carried && endedHow && (!carried.ended || (endedHow === 'logout' && carried.ended.how !== 'logout'))) {
      carried.ended = { how: endedHow, time: r.time, answered: r.time + r.durationMs, step: r.step, request: describe(r) };
    }
    const hash = r.backendSessionHash;
    if (!hash) continue;
    let trace = traces.get(hash);
    if (!trace) {
      trace = { backend: r.backend, step: r.step, request: describe(r), heldBy: new Set(), lastWriteFrom: r.time, lastWriteTo: r.time + r.durationMs, lastWriteStep: r.step, readsSinceWrite: 0, user: undefined };
      traces.set(hash, trace);
    }
    trace.heldBy.add(r.backend);
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

  // Times in evidence are since the run started.
  const runStart = history.events.find((e) => e.kind === 'run-started')?.time ?? Math.min(...history.requests.map((r) => r.time));
  const when = (time: number) => `at ${exact(Math.max(0, time - runStart))}`;
  const BACKEND_LOSS: Partial<Record<ClusterEvent['kind'], string>> = {
    'backend-killed': 'was killed',
    'backend-restarted': 'was restarted',
    'backend-exited': 'exited',
    'backend-drained': 'was taken out of rotation',
  };
  /** Something that happened to `backend` in (from, to]: a kill, restart, exit or drain. */
  const backendEvent = (backend: string, from: number, to: number) =>
    history.events.find((e) => e.backend === backend && BACKEND_LOSS[e.kind] && e.time > from && e.time <= to);
  const describeEvent = (e: ClusterEvent) =>
    e.kind === 'redis-restarted'
      ? `the shared store was restarted empty ${when(e.time)}${e.fault ? ` (fault ${e.fault})` : ''}`
      : `${e.backend} ${BACKEND_LOSS[e.kind]} ${when(e.time)}${e.fault ? ` (fault ${e.fault})` : ''}`;

  /**
   * The store's TTL ended the session: certainly by `expiredBy` (the last
   * write answered + TTL), certainly not before `aliveUntil` (the last write
   * sent + TTL).
   */
  const ttlWindow = (trace: SessionTrace) => ({ aliveUntil: trace.lastWriteFrom + session.ttlMs, expiredBy: trace.lastWriteTo + session.ttlMs });
  const ttlFinding = (r: RequestRecord, trace: SessionTrace, hash: string, before?: ClusterEvent): Finding => {
    const { expiredBy } = ttlWindow(trace);
    const parts = [
      `store TTL ${exact(session.ttlMs)} ran out: ${label(hash)} was last written at step ${trace.lastWriteStep}, ${exact(r.time - trace.lastWriteTo)} before this request (gone by ${exact(expiredBy - runStart)})`,
    ];
    if (before) parts.push(`it was gone before ${describeEvent(before)}, which found nothing of it to lose`);
    if (!session.rolling && trace.readsSinceWrite > 0) parts.push(`rolling is off, so the ${trace.readsSinceWrite} read${trace.readsSinceWrite > 1 ? 's' : ''} since did not refresh it`);
    return { cause: 'expiry', evidence: parts.join('; ') };
  };

  const unknownId = (r: RequestRecord, hash: string, trace: SessionTrace | undefined): Finding => {
    const at = r.backend ?? 'an unknown backend';
    if (!trace) return { cause: 'unclassified', evidence: `${at} did not know ${label(hash)}, and no backend in this history issued it` };
    const made = `${label(hash)} created on ${trace.backend} at step ${trace.step} (${trace.request})`;
    // An event counts if it came before the answer: the request may have left before it and arrived after.
    const answered = r.time + r.durationMs;
    const { aliveUntil, expiredBy } = ttlWindow(trace);
    if (perProcessStore && r.backend && !trace.heldBy.has(r.backend)) {
      // Dead by its TTL before this request left: no backend could have loaded it.
      if (r.time >= expiredBy) return ttlFinding(r, trace, hash);
      // Where it lived is gone: a sticky or hashed client moved, or round-robin as ever.
      const lost = [...trace.heldBy].map((b) => backendEvent(b, trace.lastWriteFrom - 1, answered)).find((e) => e !== undefined);
      const moved = r.proxy?.pin === 'repinned' ? `; the balancer re-pinned the user from ${r.proxy.pinnedBefore} to ${r.backend}` : '';
      return {
        cause: 'replication',
        evidence: lost
          ? `${made}; ${describeEvent(lost)} and its sessions were in memory${moved}; ${r.backend}'s store never had it`
          : `${made}; request routed to ${r.backend}, whose store never had it (sessions live in each server's own memory)${moved}`,
      };
    }
    // A request on this session that died with its backend: it may have rotated the id
    // (login) and destroyed the old one before the crash, so the new one never arrived.
    const crashed = history.requests.find(
      (f) =>
        f !== r &&
        f.sessionIdSent === r.sessionIdSent &&
        f.time < r.time &&
        (f.error || f.status === 502) &&
        f.proxy?.backend !== undefined &&
        history.events.some((e) => e.backend === f.proxy!.backend && (e.kind === 'backend-killed' || e.kind === 'backend-restarted') && e.time >= f.time && e.time <= f.time + f.durationMs),
    );
    if (crashed) {
      const event = history.events.find((e) => e.backend === crashed.proxy!.backend && (e.kind === 'backend-killed' || e.kind === 'backend-restarted') && e.time >= crashed.time)!;
      return {
        cause: 'code',
        evidence: `${made}; step ${crashed.step} (${describe(crashed)}) was cut off when ${describeEvent(event)}, mid-request: it had already ended ${label(hash)} (a login rotates the id), and its answer with the new id never reached the client`,
      };
    }
    const loss =
      perProcessStore && r.backend
        ? backendEvent(r.backend, trace.lastWriteFrom - 1, answered)
        : history.events.find((e) => e.kind === 'redis-restarted' && e.time > trace.lastWriteFrom - 1 && e.time <= answered);
    if (loss) {
      // Which came first: the TTL's end or the loss? Only a live session is lost by a restart.
      if (loss.time >= expiredBy) return ttlFinding(r, trace, hash, loss);
      if (loss.time < aliveUntil) {
        const where = loss.kind === 'redis-restarted' ? ', and every session in it was lost' : ' and its sessions were in memory';
        return { cause: 'replication', evidence: `${made}; ${describeEvent(loss)}${where}, while ${label(hash)} was alive (its TTL ran to ${exact(aliveUntil - runStart)} at least)` };
      }
      return {
        cause: 'unclassified',
        evidence: `${made}; its TTL of ${exact(session.ttlMs)} ended between ${exact(aliveUntil - runStart)} and ${exact(expiredBy - runStart)}, and ${describeEvent(loss)}, within that window: the history cannot tell which ended it`,
      };
    }
    // No loss recorded: the TTL is the one explanation, if it could have run out by the time the store was asked.
    if (answered >= aliveUntil) return ttlFinding(r, trace, hash);
    const where = perProcessStore ? `${at}'s own memory` : 'the shared store';
    return {
      cause: 'unclassified',
      evidence: `${made}; ${where} had it, last written ${exact(r.time - trace.lastWriteTo)} before (well within its TTL of ${exact(session.ttlMs)}), yet not at this request; the history records no restart or store loss that explains it`,
    };
  };

  /** The backend ended request `r` with a session the client does not hold: where was it lost? */
  const lostOnTheWay = (r: RequestRecord, hash: string): Finding => {
    const made = `${r.backend} made ${label(hash)} at step ${r.step} (${describe(r)})${r.sessionUser ? ` for ${r.sessionUser}` : ''}`;
    if (r.sessionCookie === 'withheld-insecure') {
      let why = 'it saw the request as plain http';
      if (r.proxy?.faults.some((f) => f.fault.startsWith('drop-forwarded-proto'))) why = `the balancer dropped X-Forwarded-Proto${faultNotes(r, topology.balancer)}, so it saw plain http`;
      else if (r.proxy?.fromTap && r.proxy.scheme === 'https' && !r.proxy.forwardedProto) why = `the balancer sent no X-Forwarded-Proto, so it saw plain http${faultNotes(r, topology.balancer)}`;
      else if (!session.trustProxy && r.proxy?.forwardedProto?.includes('https')) why = `it does not trust the proxy's X-Forwarded-Proto: https (trust proxy off), so it saw plain http`;
      else if (r.proxy?.scheme === 'http') why = 'the request came over http';
      return { cause: 'transmission', evidence: `${made}: backend created a session but sent no Set-Cookie — its cookie is Secure and ${why}` };
    }
    const fromBackend = r.proxy?.setCookie.some((h) => h.trimStart().startsWith(`${cookieName}=`));
    const passedOn = r.proxy?.setCookieOut.some((h) => h.trimStart().startsWith(`${cookieName}=`));
    if (fromBackend && r.proxy && !passedOn) {
      return { cause: 'transmission', evidence: `${made} and sent Set-Cookie ${cookieName}; the balancer passed on no separate ${cookieName} cookie to the client${faultNotes(r, topology.balancer)}` };
    }
    const refused = r.refused.find((c) => c.name === cookieName);
    if (refused) return { cause: 'transmission', evidence: `${made}; the client did not store Set-Cookie ${cookieName}: ${refused.reason}` };
    if (r.refused.length && fromBackend) {
      return { cause: 'transmission', evidence: `${made}; the client stored no ${cookieName} cookie: ${r.refused.map((c) => `${c.name}: ${c.reason}`).join('; ')}` };
    }
    return { cause: 'unclassified', evidence: `${made}, but the client never received its Set-Cookie, and no balancer or client record shows where it was lost` };
  };

  for (const sequence of sequences(history.requests)) {
    let pending: LostCookie | undefined;
    let previousJarCookie: JarCookie | undefined;
    /** The request whose answer put the jar's session cookie there. */
    let cookieSource: RequestRecord | undefined;

    for (const r of sequence) {
      const verdict = ({ cause, evidence }: Finding) =>
        verdicts.push({
          user: r.user,
          run: r.run,
          browser: r.browser ?? 1,
          step: r.step,
          request: describe(r),
          backend: r.backend,
          cause,
          evidence,
          expected: r.resetExpected !== false,
        });
      // No response, or a balancer that refused the request: nothing was reset, the request failed.
      if (r.error || r.status === 0 || !r.backend) continue;

      const status = r.sessionStatus;
      const sent = hashOf(r.sessionIdSent);
      const inJar = hashOf(r.sessionIdInJar);
      const { sent: sentTrace, inJar: jarTrace } = traceAt.get(r) ?? {};
      // A session ended on purpose before this request was answered is not reset again.
      const endedBefore = (trace: SessionTrace | undefined) => (trace?.ended && trace.ended.time <= r.time + r.durationMs ? trace.ended : undefined);
      const cookieLapsed =
        !inJar && previousJarCookie?.expires !== null && previousJarCookie?.expires !== undefined && Date.parse(previousJarCookie.expires) <= r.time;
      // The effect of a lost Set-Cookie: a later request without the id it should have carried.
      const lostEffect =
        pending !== undefined &&
        sentAfter(r, pending.after) &&
        sent !== pending.issuedHash &&
        (status === 'created' || status === 'none' || status === 'unknown-id' || (status === 'loaded' && pending.user !== undefined && r.sessionUser !== pending.user));

      if (lostEffect) {
        verdict(pending!);
        pending = undefined;
      } else if (!sent && (status === 'created' || status === 'none')) {
        if (inJar && !endedBefore(jarTrace)) {
          verdict({ cause: 'transmission', evidence: r.withheld ?? `the jar held ${label(inJar)} but the client did not send it to ${r.url}` });
        } else if (cookieLapsed) {
          const expiredAt = Date.parse(previousJarCookie!.expires!);
          const attribute = lifetimeAttribute(cookieSource, cookieName, previousJarCookie!.value);
          const received = cookieSource ? `, received with step ${cookieSource.step} ${when(cookieSource.time + cookieSource.durationMs)}` : '';
          verdict({
            cause: 'expiry',
            evidence: `the ${cookieName} cookie (${attribute ?? `expires ${previousJarCookie!.expires}`}${received}) expired in the client ${when(expiredAt)}, before ${describe(r)} ${when(r.time)}, so ${r.backend} got no session cookie`,
          });
        }
      } else if (sent) {
        const ended = endedBefore(sentTrace);
        if (status === 'destroyed') {
          verdict({ cause: 'code', evidence: `${r.backend} destroyed the session ${label(sent)} at ${describe(r)}` });
        } else if (status === 'expired') {
          const measured = r.expiredAfterMs !== undefined && r.expiredLimitMs !== undefined ? ` ${exact(r.expiredAfterMs)} > limit ${exact(r.expiredLimitMs)}` : '';
          verdict({
            cause: 'expiry',
            evidence:
              r.expiredBy === 'absolute'
                ? `${measured ? `since login${measured}` : 'past its absolute limit'} (${r.backend} expired ${label(sent)} at ${describe(r)})`
                : r.expiredBy === 'idle'
                  ? `${measured ? `idle${measured}` : 'past its idle limit'} (${r.backend} expired ${label(sent)} at ${describe(r)})`
                  : `${r.backend} reported ${label(sent)} expired at ${describe(r)}`,
          });
        } else if (status === 'unknown-id') {
          const sentOut = cookieValue(r.proxy?.cookieOut, cookieName);
          const sentIn = cookieValue(r.proxy?.cookieIn, cookieName);
          if (r.proxy && sentIn !== undefined && sentOut !== undefined && sentIn !== sentOut) {
            verdict({ cause: 'transmission', evidence: `client sent ${label(hashOf(sentIn)!)}, the balancer forwarded a different ${cookieName} value${faultNotes(r, topology.balancer)}` });
          } else if (ended?.how === 'rotated' && !sentAfter(r, ended.answered)) {
            // Sent while another request was replacing its id: the race lost the session.
            verdict({
              cause: 'code',
              evidence: `${label(sent)} was replaced by a new id at step ${ended.step} (${ended.request}) ${when(ended.time)}, and the old id destroyed, before this request carrying it was answered`,
            });
          } else if (!ended) {
            const finding = unknownId(r, sent, sentTrace);
            // The store forgot it while the client still held the cookie: say how long the cookie was to live.
            const attribute = finding.cause === 'expiry' ? lifetimeAttribute(cookieSource, cookieName, r.sessionIdSent!) : undefined;
            verdict(attribute ? { ...finding, evidence: `${finding.evidence}; the cookie (${attribute}) outlived it` } : finding);
          }
          // Ended by a logout, by its backend's expiry, or replaced by a new id this browser then lost
          // (reported where the loss showed): that request already said so.
        } else if (status === 'created' || status === 'none') {
          // The backend saw no id at all: find the hop that lost it.
          const proxyIn = cookieValue(r.proxy?.cookieIn, cookieName);
          if (ended) {
            // The session had ended on purpose; losing its id now resets nothing.
          } else if (proxyIn !== undefined && cookieValue(r.proxy?.cookieOut, cookieName) === undefined) {
            verdict({ cause: 'transmission', evidence: `client sent ${label(hashOf(proxyIn)!)}, ${r.backend} received no ${cookieName} cookie${faultNotes(r, topology.balancer)}` });
          } else {
            verdict({ cause: 'unclassified', evidence: `the client sent ${label(sent)}, yet ${r.backend} saw no session cookie; no balancer record shows where it was lost` });
          }
        } else if (status === 'loaded' && sentTrace?.user && !r.sessionUser) {
          const rotated = r.backendSessionHash !== undefined && r.backendSessionHash !== sent;
          verdict(
            rotated
              ? { cause: 'code', evidence: `${r.backend} issued a new id at ${describe(r)} and the login of ${sentTrace.user} was not kept` }
              : { cause: 'unclassified', evidence: `${r.backend} loaded ${label(sent)} but it no longer carries the login of ${sentTrace.user}; the history does not show who removed it` },
          );
        }
      }

      // What the backend meant the client to hold from now on, and whether it got there.
      const backendHash = r.backendSessionHash;
      if (status !== 'destroyed' && backendHash && backendHash !== sent && !delivered(r, cookieName, backendHash)) {
        pending = { ...lostOnTheWay(r, backendHash), after: r.time + r.durationMs, issuedHash: backendHash, user: r.sessionUser };
      } else if (pending && sentAfter(r, pending.after) && (status === 'loaded' || status === 'destroyed')) {
        // The client carries on with a session that works, or the user logged out: the lost one left no trace.
        pending = undefined;
      }
      const jarCookie = r.jarAfter.find((c) => c.name === cookieName);
      if (jarCookie && r.setCookie.some((h) => h.trimStart().startsWith(`${cookieName}=${jarCookie.value}`))) cookieSource = r;
      previousJarCookie = jarCookie;
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
