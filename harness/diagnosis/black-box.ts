/**
 * Verdicts for apps that do not report their sessions (no X-Session-Status):
 * a pure function of the history, reading each backend's view off the
 * wire (wire-view.ts).
 *
 * A reset here is a logged-in user losing the login without asking: after
 * a successful POST to the login path, a request that carries the session
 * id gets a "log in first" answer. (An anonymous session that changes id
 * is not counted: on the wire it cannot be told apart from a rotation.)
 * A cause is named only when the records prove it:
 *
 *   transmission  the client held the id and did not send it; or the
 *                 balancer received it and forwarded none or another value
 *   expiry        the cookie's own Max-Age/Expires ran out in the client
 *   code          the user logged out (the logout path answered), or the
 *                 app itself cleared the cookie before the loss
 *   replication   backend A issued the id; the request carrying it reached
 *                 backend B ≠ A intact (the balancer's or tap's record) and
 *                 B answered "log in first"; and a later request with the
 *                 same id and path (in the run, or a witness sent straight
 *                 to A) was accepted — so the session still existed, and
 *                 B simply does not share A's sessions (its own memory, or
 *                 its own signing secret: configuration not replicated);
 *                 when the run's Redis held the session right then, B
 *                 rejected a cookie whose session it could read — its
 *                 own secret — and the evidence says so
 *   unclassified  anything else, naming what is missing (which backend
 *                 answered, what it received, or a later acceptance that
 *                 rules out expiry and an app-side end)
 */
import { sessionIdHash } from '../../servers/session/session-id.js';
import type { History, RequestRecord } from '../history/history.js';
import type { ResetCause, Verdict } from './diagnose.js';
import { BLACK_BOX_DEFAULTS, loginRequiredReason, wireView, type BlackBoxRules, type WireView } from './wire-view.js';
import { sequences } from './sequences.js';

interface Finding {
  cause: ResetCause;
  evidence: string;
  /** The backend that issued the lost id, when the wire shows it. */
  issuedBy?: string;
  /** The run's Redis held the session when the backend refused it (a witness asked). */
  storeHeld?: boolean;
}

/** Where an id came from: the request whose response set it. */
interface Issue {
  backend: string | undefined;
  step: number;
  request: string;
  time: number;
}

const describe = (r: RequestRecord) => `${r.method} ${r.path}`;
/**
 * Cookie values as the server reads them: the jar keeps them as set
 * (`s%3A…` for express-session's signed ids), headers are parsed decoded.
 */
const decoded = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};
const label = (id: string) => `sid#${sessionIdHash(id)}`;
const seconds = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

/** An answer that took the session: no "log in first", no new id, no error. */
function accepted(answer: { status: number; responseBody?: string; location?: string; newId: boolean; error?: string }, rules: BlackBoxRules): boolean {
  return !answer.error && answer.status > 0 && answer.status < 400 && !answer.newId && loginRequiredReason(answer, rules) === undefined;
}

/** A history whose records carry no backend report of the session: diagnose it from the wire. */
export function isBlackBox(history: History): boolean {
  return history.requests.length > 0 && history.requests.every((r) => r.sessionStatus === undefined);
}

export function diagnoseBlackBox(history: History): Verdict[] {
  const cookieName = history.topology.cookieName;
  const rules = history.topology.blackBox ?? BLACK_BOX_DEFAULTS;
  const verdicts: Verdict[] = [];
  if (!cookieName) return verdicts; // no session cookie was ever seen: nothing to lose

  for (const sequence of sequences(history.requests)) {
    const issues = new Map<string, Issue>();
    const views = new Map<RequestRecord, WireView>(sequence.map((r) => [r, wireView(r, cookieName, rules)]));
    /** The login being tracked: the id it lives on, and the step it began. */
    let login: { id: string | undefined; step: number } | undefined;
    /** The app cleared the session cookie (outside a logout) at this request. */
    let clearedAt: RequestRecord | undefined;

    /** A later request, or a witness sent straight to a backend, that accepted `id` on the same request. */
    const laterAcceptance = (r: RequestRecord, id: string): string | undefined => {
      const after = r.time + r.durationMs;
      for (const other of sequence) {
        if (other.time < after || other.sessionIdSent !== id || other.method !== r.method || other.path !== r.path) continue;
        const view = views.get(other)!;
        if (view.idReceived !== id || !view.backend) continue;
        if (accepted({ ...other, newId: view.issued?.value !== undefined && view.issued.value !== id }, rules)) {
          return `${view.backend} accepted it again at step ${other.step} (${describe(other)} → ${other.status})`;
        }
      }
      for (const witness of r.witnesses ?? []) {
        // Sent once the answer was in (runner/witnesses.ts); its clock is Date.now(), not the request's start + duration.
        if (witness.time >= r.time && accepted(witness, rules)) {
          return `${witness.backend} still accepted it right after (the same ${witness.method} ${witness.path} sent straight to it → ${witness.status})`;
        }
      }
      return undefined;
    };

    const lost = (r: RequestRecord, view: WireView, why: string): Finding => {
      const held = decoded(r.sessionIdInJar);
      const answer = `answered "log in first" (${why})`;
      if (held === undefined) {
        const jarCookie = [...sequence]
          .reverse()
          .find((p) => p.step < r.step)
          ?.jarAfter.find((c) => c.name === cookieName);
        if (jarCookie?.expires && Date.parse(jarCookie.expires) <= r.time) {
          return {
            cause: 'expiry',
            evidence: `the ${cookieName} cookie expired in the client (Expires/Max-Age: ${jarCookie.expires}) before ${describe(r)}, so it was not sent; ${view.backend ?? 'the app'} ${answer}`,
          };
        }
        if (clearedAt) {
          return {
            cause: 'code',
            evidence: `${views.get(clearedAt)!.backend ?? 'the app'} cleared the ${cookieName} cookie at step ${clearedAt.step} (${describe(clearedAt)}); ${describe(r)} then ${answer}`,
          };
        }
        return { cause: 'unclassified', evidence: `the client held no ${cookieName} cookie at ${describe(r)} (the login left none it kept); ${view.backend ?? 'the app'} ${answer}` };
      }
      if (view.idSent !== held) {
        return { cause: 'transmission', evidence: r.withheld ?? `the jar held ${cookieName} ${label(held)} but the client did not send it to ${r.url}; ${view.backend ?? 'the app'} ${answer}` };
      }
      if (view.idAtBalancer !== undefined && view.idAtBalancer !== null && view.receivedFrom === 'balancer' && view.idReceived !== view.idAtBalancer) {
        const faults = r.proxy?.faults.length ? ` (${r.proxy.faults.map((f) => `fault ${f.fault}: ${f.note}`).join('; ')})` : '';
        return {
          cause: 'transmission',
          evidence: `the client sent ${cookieName} ${label(held)}; the balancer forwarded ${view.idReceived === null ? `no ${cookieName} cookie` : 'a different value'} to ${view.backend}${faults}, which ${answer}`,
        };
      }
      const issue = issues.get(held);
      const made = issue ? `${cookieName} ${label(held)} issued by ${issue.backend ?? 'an unnamed backend'} at step ${issue.step} (${issue.request})` : `${cookieName} ${label(held)}`;
      const newId = view.issued?.value !== undefined && view.issued.value !== held ? `, with a new ${cookieName}` : '';
      const at = `the request carrying it went to ${view.backend ?? 'a backend the history does not name'}, which ${answer}${newId}`;
      const missing: string[] = [];
      if (!view.backend) missing.push("which backend answered (run through session-lab's balancer, or pass --backend-header with the header that names it)");
      if (view.idReceived === undefined) missing.push(`what that backend received (no balancer or tap record: the ${cookieName} cookie may have been lost on the way)`);
      else if (view.idReceived !== held) missing.push(`why it received ${view.idReceived === null ? `no ${cookieName} cookie` : 'another value'}`);
      if (!issue?.backend) missing.push('which backend issued the id');
      if (missing.length) return { cause: 'unclassified', evidence: `${made}; ${at}; the history does not show ${missing.join(', nor ')}` };
      const later = laterAcceptance(r, held);
      if (issue!.backend === view.backend) {
        return {
          cause: 'unclassified',
          evidence: `${made}; ${at} ${seconds(r.time - issue!.time)} later: the backend that issued it no longer took it — an expiry or the app ending it; the history does not show which`,
        };
      }
      if (!later) {
        return {
          cause: 'unclassified',
          evidence: `${made}; ${at}; no later request shows the session still alive, so an expiry or the app ending it cannot be ruled out`,
        };
      }
      // Whether the run's shared store held the session right then (runner/witnesses.ts asks Redis).
      const storeHeld = (r.witnesses ?? []).find((w) => w.storeHeld !== undefined)?.storeHeld;
      const reason =
        storeHeld === true
          ? `the run's shared store (Redis) held that session right then, so ${view.backend} refused a cookie whose session it could read: it rejects the cookies ${issue!.backend} signs — ` +
            `a signing secret of its own (configuration not replicated), or it does not read the shared store`
          : storeHeld === false
            ? `the run's Redis held no key containing that session id: ${issue!.backend} keeps its sessions elsewhere (its own memory), which ${view.backend} does not share`
            : `${view.backend} does not share ${issue!.backend}'s sessions (each its own store, or cookies signed with its own secret)`;
      return {
        cause: 'replication',
        evidence: `${made}; ${at}; ${later}: ${reason}`,
        issuedBy: issue!.backend,
        ...(storeHeld !== undefined && { storeHeld }),
      };
    };

    for (const r of sequence) {
      const view = views.get(r)!;
      if (r.error || r.status === 0) continue;
      const verdict = ({ cause, evidence, issuedBy, storeHeld }: Finding) =>
        verdicts.push({
          user: r.user,
          run: r.run,
          browser: r.browser ?? 1,
          step: r.step,
          request: describe(r),
          backend: view.backend,
          cause,
          evidence,
          facts: {
            kind: 'wire',
            text: evidence,
            backend: view.backend,
            ...(issuedBy ? { issuedBy } : {}),
            ...(storeHeld !== undefined ? { storeHeld } : {}),
            ...(r.sessionIdSent ? { session: sessionIdHash(r.sessionIdSent) } : {}),
          },
          expected: r.resetExpected !== false,
        });

      const succeeded = r.status < 400 && view.loginRequired === undefined;
      if (login && r.path === rules.logoutPath && succeeded) {
        verdict({
          cause: 'code',
          evidence: `the user logged out: ${describe(r)} answered ${r.status}${view.issued?.cleared ? ` and cleared the ${cookieName} cookie` : ''} (${view.backend ?? 'the app'})`,
        });
        login = undefined;
      } else if (login && view.loginRequired !== undefined) {
        verdict(lost(r, view, view.loginRequired));
        // A client that still holds the same id may still have its login elsewhere (on the backend
        // that issued it): the next "log in first" on it is another reset. A new id starts over.
        if (login.id === undefined || decoded(r.sessionIdAfter) !== login.id) login = undefined;
      } else if (r.method === 'POST' && r.path === rules.loginPath && succeeded) {
        login = { id: decoded(r.sessionIdAfter), step: r.step };
      }
      // Where each id came from, for the replication evidence.
      if (view.issued?.value !== undefined && !issues.has(view.issued.value)) {
        issues.set(view.issued.value, { backend: view.backend, step: r.step, request: describe(r), time: r.time });
      }
      if (view.issued?.cleared && r.path !== rules.logoutPath) clearedAt = r;
      else if (view.issued?.value !== undefined) clearedAt = undefined;
    }
  }
  return verdicts;
}
