/**
 * From history to verdicts: a pure function, no sockets, no clock.
 *
 * A reset is a virtual user who had a session (or a login) and loses it
 * without asking: the backend did not know the id it sent, the id never
 * reached the backend, the session expired, or the login vanished. Each
 * verdict names one cause with the evidence read off the history:
 *
 *   replication   the id was made on one backend and the request reached
 *                 another whose own store never had it
 *   transmission  the id did not reach the backend intact (client withheld
 *                 it, or the balancer dropped it)
 *   code          the application ended or rotated the session
 *   expiry        the backend found the session past its limit
 *   unclassified  the history lacks what would tell; the evidence says what
 */
import { parseCookie } from 'cookie';
import { sessionIdHash } from '../../servers/session/session-id.js';
import type { History, RequestRecord } from '../history/history.js';

export type ResetCause = 'replication' | 'transmission' | 'code' | 'expiry' | 'unclassified';
export const RESET_CAUSES: readonly ResetCause[] = ['replication', 'transmission', 'code', 'expiry', 'unclassified'];

export interface Verdict {
  user: number;
  run: number;
  step: number;
  /** `GET /drafts` */
  request: string;
  backend: string | undefined;
  cause: ResetCause;
  evidence: string;
  /** The scenario said a reset is expected at this step. */
  expected: boolean;
}

interface IdOrigin {
  backend: string | undefined;
  step: number;
  request: string;
  /** Backends whose store is known to have held the id. */
  heldBy: Set<string>;
}

const label = (id: string) => `sid#${sessionIdHash(id)}`;
const describe = (r: RequestRecord) => `${r.method} ${r.path}`;

function cookieValue(header: string | undefined, name: string): string | undefined {
  return header ? parseCookie(header)[name] : undefined;
}

/** Groups records by virtual user and run, each in step order. */
function sequences(requests: readonly RequestRecord[]): RequestRecord[][] {
  const groups = new Map<string, RequestRecord[]>();
  for (const record of requests) {
    const key = `${record.user}/${record.run}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(record);
  }
  return [...groups.values()].map((group) => group.sort((a, b) => a.step - b.step));
}

export function diagnose(history: History): Verdict[] {
  const { topology } = history;
  const perProcessStore = topology.store === 'memory';
  const origins = new Map<string, IdOrigin>();
  const verdicts: Verdict[] = [];

  // Pass 1, in time order across all users: where each id was made and who held it.
  const byTime = [...history.requests].sort((a, b) => a.time - b.time);
  for (const r of byTime) {
    if (r.sessionStatus === 'loaded' && r.sessionIdSent && r.backend) {
      origins.get(r.sessionIdSent)?.heldBy.add(r.backend);
    }
    if (r.sessionIdAfter && r.sessionIdAfter !== r.sessionIdInJar && !origins.has(r.sessionIdAfter)) {
      const issued = r.setCookie.some((header) => header.includes(`=${r.sessionIdAfter}`));
      if (issued) {
        origins.set(r.sessionIdAfter, {
          backend: r.backend,
          step: r.step,
          request: describe(r),
          heldBy: new Set(r.backend ? [r.backend] : []),
        });
      }
    }
  }

  const classifyUnknownId = (r: RequestRecord, id: string): { cause: ResetCause; evidence: string } => {
    const origin = origins.get(id);
    const at = r.backend ?? 'an unknown backend';
    if (!origin) {
      return { cause: 'unclassified', evidence: `${at} did not know ${label(id)}, and no backend in this history issued it` };
    }
    const made = `${label(id)} created on ${origin.backend ?? 'an unknown backend'} at step ${origin.step} (${origin.request})`;
    if (perProcessStore && r.backend && !origin.heldBy.has(r.backend)) {
      return {
        cause: 'replication',
        evidence: `${made}; request routed to ${r.backend}, whose store never had it (sessions live in each server's own memory)`,
      };
    }
    const where = perProcessStore ? `${at}'s own memory` : 'the shared store';
    return {
      cause: 'unclassified',
      evidence: `${made}; ${where} held it before but not at this request, and the history records no restart, store loss or expiry that explains it`,
    };
  };

  for (const sequence of sequences(history.requests)) {
    let loggedInAs: string | undefined;
    for (const r of sequence) {
      const had = r.sessionIdInJar;
      const verdict = (cause: ResetCause, evidence: string) =>
        verdicts.push({ user: r.user, run: r.run, step: r.step, request: describe(r), backend: r.backend, cause, evidence, expected: r.resetExpected });

      if (r.error || r.status === 0) {
        // No response: nothing was reset, the request failed; counted as an error elsewhere.
        continue;
      }
      const status = r.sessionStatus;
      if (had && status === 'destroyed') {
        verdict('code', `${r.backend} destroyed the session ${label(had)} at ${describe(r)}`);
      } else if (had && status === 'unknown-id' && r.sessionIdSent) {
        const { cause, evidence } = classifyUnknownId(r, r.sessionIdSent);
        verdict(cause, evidence);
      } else if (had && status === 'expired') {
        verdict('expiry', `${r.backend} found ${label(had)} past its session time limit`);
      } else if (had && (status === 'created' || status === 'none')) {
        // The backend saw no id at all: find the hop that lost it.
        const proxyIn = cookieValue(r.proxy?.cookieIn, topology.cookieName);
        if (cookieValue(r.cookieSent, topology.cookieName) === undefined) {
          verdict('transmission', `the jar held ${label(had)} but the client did not send it to ${r.url}`);
        } else if (proxyIn && !cookieValue(r.proxy?.cookieOut, topology.cookieName)) {
          verdict('transmission', `client sent ${label(proxyIn)}, the balancer forwarded no ${topology.cookieName} cookie to ${r.backend}`);
        } else {
          verdict('unclassified', `the jar held ${label(had)}, yet ${r.backend} saw no session cookie; no balancer record shows where it was lost`);
        }
      } else if (had && status === 'loaded' && loggedInAs && !r.sessionUser) {
        const rotated = r.sessionIdAfter !== had;
        verdict(
          rotated ? 'code' : 'unclassified',
          rotated
            ? `${r.backend} issued a new id at ${describe(r)} and the login of ${loggedInAs} was not kept`
            : `${r.backend} loaded ${label(had)} but it no longer carries the login of ${loggedInAs}; the history does not show who removed it`,
        );
      }
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
