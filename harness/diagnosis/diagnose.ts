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
  /** Time of the last write or touch that set its TTL. */
  lastWrite: number;
  lastWriteStep: number;
  /** Reads since the last write that did not refresh the TTL. */
  readsSinceWrite: number;
}

interface Finding {
  cause: ResetCause;
  evidence: string;
}

const label = (hash: string) => `sid#${hash}`;
const describe = (r: RequestRecord) => `${r.method} ${r.path}`;
const seconds = (ms: number) =>
  ms >= 120_000 ? `${+(ms / 60_000).toFixed(1)} min` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
const hashOf = (id: string | undefined) => (id === undefined ? undefined : sessionIdHash(id));

function cookieValue(header: string | undefined, name: string): string | undefined {
  return header ? parseCookie(header)[name] : undefined;
}

function faultNotes(r: RequestRecord, balancer: string): string {
  const notes = r.proxy?.faults ?? [];
  // Behind a black-box balancer the tap's record is the evidence of what it did.
  return notes.length ? ` (${notes.map((f) => `fault ${f.fault}: ${f.note}`).join('; ')})` : tapEvidence(r, balancer);
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

export function diagnose(history: History): Verdict[] {
  const { topology } = history;
  const cookieName = topology.cookieName;
  const session = topology.session;
  const perProcessStore = topology.store === 'memory';
  const verdicts: Verdict[] = [];

  // Pass 1, in time order across all users: what each backend did with each id.
  const traces = new Map<string, SessionTrace>();
  const traceAt = new Map<RequestRecord, SessionTrace | undefined>(); // the trace as it stood before each request
  for (const r of [...history.requests].sort((a, b) => a.time - b.time)) {
    const sent = hashOf(r.sessionIdSent);
    traceAt.set(r, sent ? (traces.get(sent) && { ...traces.get(sent)!, heldBy: new Set(traces.get(sent)!.heldBy) }) : undefined);
    const hash = r.backendSessionHash;
    if (!hash || !r.backend) continue;
    let trace = traces.get(hash);
    if (!trace) {
      trace = { backend: r.backend, step: r.step, request: describe(r), heldBy: new Set(), lastWrite: r.time, lastWriteStep: r.step, readsSinceWrite: 0 };
      traces.set(hash, trace);
    }
    trace.heldBy.add(r.backend);
    if (r.storeWrite === 'set' || r.storeWrite === 'touch') {
      trace.lastWrite = r.time;
      trace.lastWriteStep = r.step;
      trace.readsSinceWrite = 0;
    } else {
      trace.readsSinceWrite++;
    }
  }

  // Times in evidence are since the run started.
  const runStart = history.events.find((e) => e.kind === 'run-started')?.time ?? Math.min(...history.requests.map((r) => r.time));
  const when = (time: number) => `at ${seconds(Math.max(0, time - runStart))}`;
  const BACKEND_LOSS: Partial<Record<ClusterEvent['kind'], string>> = {
    'backend-killed': 'was killed',
    'backend-restarted': 'was restarted',
    'backend-exited': 'exited',
    'backend-drained': 'was taken out of rotation',
  };
  /** Something that happened to `backend` in (from, to]: a kill, restart, exit or drain. */
  const backendEvent = (backend: string, from: number, to: number) =>
    history.events.find((e) => e.backend === backend && BACKEND_LOSS[e.kind] && e.time > from && e.time <= to);
  const describeEvent = (e: ClusterEvent) => `${e.backend} ${BACKEND_LOSS[e.kind]} ${when(e.time)}${e.fault ? ` (fault ${e.fault})` : ''}`;

  const unknownId = (r: RequestRecord, hash: string): Finding => {
    const trace = traceAt.get(r);
    const at = r.backend ?? 'an unknown backend';
    if (!trace) return { cause: 'unclassified', evidence: `${at} did not know ${label(hash)}, and no backend in this history issued it` };
    const made = `${label(hash)} created on ${trace.backend} at step ${trace.step} (${trace.request})`;
    // An event counts if it came before the answer: the request may have left before it and arrived after.
    const answered = r.time + r.durationMs;
    if (perProcessStore && r.backend && !trace.heldBy.has(r.backend)) {
      // Where it lived is gone: a sticky or hashed client moved, or round-robin as ever.
      const lost = [...trace.heldBy].map((b) => backendEvent(b, trace.lastWrite - 1, answered)).find((e) => e !== undefined);
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
    if (perProcessStore && r.backend) {
      const restarted = backendEvent(r.backend, trace.lastWrite - 1, answered);
      if (restarted) return { cause: 'replication', evidence: `${made}; ${describeEvent(restarted)} and its sessions were in memory` };
    } else {
      const emptied = history.events.find((e) => e.kind === 'redis-restarted' && e.time > trace.lastWrite - 1 && e.time <= answered);
      if (emptied) {
        return {
          cause: 'replication',
          evidence: `${made}; the shared store was restarted empty ${when(emptied.time)}${emptied.fault ? ` (fault ${emptied.fault})` : ''}, and every session in it was lost`,
        };
      }
    }
    const sinceWrite = r.time - trace.lastWrite;
    if (sinceWrite > session.ttlMs) {
      const parts = [`store TTL ${seconds(session.ttlMs)} ran out: ${label(hash)} was last written ${seconds(sinceWrite)} before, at step ${trace.lastWriteStep}`];
      if (!session.rolling && trace.readsSinceWrite > 0) parts.push(`rolling is off, so the ${trace.readsSinceWrite} read${trace.readsSinceWrite > 1 ? 's' : ''} since did not refresh it`);
      if (session.cookieMaxAgeMs > session.ttlMs) parts.push(`the cookie's Max-Age (${seconds(session.cookieMaxAgeMs)}) outlived it`);
      return { cause: 'expiry', evidence: parts.join('; ') };
    }
    const where = perProcessStore ? `${at}'s own memory` : 'the shared store';
    return {
      cause: 'unclassified',
      evidence: `${made}; ${where} had it, last written ${seconds(sinceWrite)} before (well within its TTL of ${seconds(session.ttlMs)}), yet not at this request; the history records no restart or store loss that explains it`,
    };
  };

  /** The backend ended request `r` with a session the client does not hold: where was it lost? */
  const lostOnTheWay = (r: RequestRecord, hash: string): Finding => {
    const made = `${r.backend} made ${label(hash)} at step ${r.step} (${describe(r)})`;
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
    return { cause: 'unclassified', evidence: `${made}, but the client never held it, and no balancer or client record shows where it was lost` };
  };

  for (const sequence of sequences(history.requests)) {
    let loggedInAs: string | undefined;
    let pending: Finding | undefined;
    let previousJarCookie: JarCookie | undefined;
    const lastUse = new Map<string, number>();
    const loginTime = new Map<string, number>();

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
      const had = hashOf(r.sessionIdInJar);
      const cookieLapsed =
        !had && previousJarCookie?.expires !== null && previousJarCookie?.expires !== undefined && Date.parse(previousJarCookie.expires) <= r.time;

      if (pending && (status === 'created' || status === 'none' || status === 'unknown-id')) {
        verdict(pending);
      } else if (cookieLapsed && (status === 'created' || status === 'none')) {
        const lapsedFor = r.time - Date.parse(previousJarCookie!.expires!);
        const lifetime = session.cookieMaxAgeMs > 0 ? `Max-Age (${seconds(session.cookieMaxAgeMs)})` : `expiry (${previousJarCookie!.expires})`;
        verdict({
          cause: 'expiry',
          evidence: `the ${cookieName} cookie's ${lifetime} ran out in the client ${seconds(lapsedFor)} before ${describe(r)}, so ${r.backend} got no session cookie`,
        });
      } else if (had) {
        if (status === 'destroyed') {
          verdict({ cause: 'code', evidence: `${r.backend} destroyed the session ${label(had)} at ${describe(r)}` });
        } else if (status === 'expired') {
          const idle = r.time - (lastUse.get(had) ?? r.time);
          const sinceLogin = r.time - (loginTime.get(had) ?? r.time);
          verdict({
            cause: 'expiry',
            evidence:
              r.expiredBy === 'absolute'
                ? `${seconds(sinceLogin)} since login > absolute limit ${seconds(session.absoluteTimeoutMs)} (${r.backend} expired ${label(had)} at ${describe(r)})`
                : r.expiredBy === 'idle'
                  ? `idle ${seconds(idle)} > limit ${seconds(session.idleTimeoutMs)} (${r.backend} expired ${label(had)} at ${describe(r)})`
                  : `${r.backend} reported ${label(had)} expired at ${describe(r)}`,
          });
        } else if (status === 'unknown-id') {
          const sentOut = cookieValue(r.proxy?.cookieOut, cookieName);
          const sentIn = cookieValue(r.proxy?.cookieIn, cookieName);
          if (r.proxy && sentIn !== undefined && sentOut !== undefined && sentIn !== sentOut) {
            verdict({ cause: 'transmission', evidence: `client sent ${label(hashOf(sentIn)!)}, the balancer forwarded a different ${cookieName} value${faultNotes(r, topology.balancer)}` });
          } else {
            verdict(unknownId(r, hashOf(r.sessionIdSent) ?? had));
          }
        } else if (status === 'created' || status === 'none') {
          // The backend saw no id at all: find the hop that lost it.
          const proxyIn = cookieValue(r.proxy?.cookieIn, cookieName);
          if (r.sessionIdSent === undefined) {
            verdict({ cause: 'transmission', evidence: r.withheld ?? `the jar held ${label(had)} but the client did not send it to ${r.url}` });
          } else if (proxyIn !== undefined && cookieValue(r.proxy?.cookieOut, cookieName) === undefined) {
            verdict({ cause: 'transmission', evidence: `client sent ${label(hashOf(proxyIn)!)}, ${r.backend} received no ${cookieName} cookie${faultNotes(r, topology.balancer)}` });
          } else {
            verdict({ cause: 'unclassified', evidence: `the client sent ${label(had)}, yet ${r.backend} saw no session cookie; no balancer record shows where it was lost` });
          }
        } else if (status === 'loaded' && loggedInAs && !r.sessionUser) {
          const rotated = r.backendSessionHash !== undefined && r.backendSessionHash !== had;
          verdict(
            rotated
              ? { cause: 'code', evidence: `${r.backend} issued a new id at ${describe(r)} and the login of ${loggedInAs} was not kept` }
              : { cause: 'unclassified', evidence: `${r.backend} loaded ${label(had)} but it no longer carries the login of ${loggedInAs}; the history does not show who removed it` },
          );
        }
      }

      // What the client holds now, against what the backend meant it to hold.
      const backendHash = r.backendSessionHash;
      const clientHash = hashOf(r.sessionIdAfter);
      pending = status !== 'destroyed' && backendHash && backendHash !== clientHash ? lostOnTheWay(r, backendHash) : undefined;
      if (backendHash) {
        lastUse.set(backendHash, r.time);
        if (r.sessionUser && loggedInAs !== r.sessionUser) loginTime.set(backendHash, r.time);
        else if (had && loginTime.has(had) && backendHash !== had) loginTime.set(backendHash, loginTime.get(had)!);
      }
      previousJarCookie = r.jarAfter.find((c) => c.name === cookieName);
      if (status !== 'store-error') loggedInAs = r.sessionUser;
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
