/**
 * The backend's view of a session, read off the wire, for apps that do not
 * report it themselves (no X-Session-Status): what the backend received
 * (the tap's record, else the balancer's forwarded Cookie header), what it
 * returned (its own Set-Cookie headers), who it was (the tap, the
 * balancer's choice, or a header the system exposes), and whether its
 * answer was "log in first" (a status, a redirect to the login page, a
 * body marker the scenario names). Pure: no sockets, no clock.
 *
 *   client ── Cookie ──▶ balancer ── Cookie' ──▶ app-N
 *   client ◀─ Set-Cookie' ─ balancer ◀─ Set-Cookie ─ app-N
 *
 * Each fact says where it comes from, and is undefined where no record
 * shows it: the diagnosis names a cause only from facts that are there.
 */
import { parseCookie, parseSetCookie } from 'cookie';
import type { RequestRecord } from '../history/history.js';

/** How session-lab reads a black-box app's answers; a scenario's `blackBox` block. */
export interface BlackBoxRules {
  /** The login request's path (POST): a success there logs the user in. */
  loginPath: string;
  /** The logout request's path: a success there ends the login, as the user asked. */
  logoutPath: string;
  /** What "log in first" looks like. */
  loginRequired: {
    /** Statuses that mean it (default 401). */
    status: number[];
    /** A redirect (3xx) whose Location path starts with this (default: the login path). */
    redirectTo?: string;
    /** A body that contains this text. */
    bodyContains?: string;
  };
}

export const BLACK_BOX_DEFAULTS: Readonly<BlackBoxRules> = {
  loginPath: '/login',
  logoutPath: '/logout',
  loginRequired: { status: [401] },
};

/** Session cookie names frameworks use, in the order they are preferred when several are set. */
const KNOWN_SESSION_COOKIES = ['connect.sid', 'JSESSIONID', 'PHPSESSID', 'sid', 'session', 'sessionid', 'SESSION', '_session_id', 'laravel_session', 'ASP.NET_SessionId', 'koa.sess', 'koa:sess'];

/**
 * The session cookie among a response's Set-Cookie headers: a name a
 * framework uses, else one that says session or sid, else the only one.
 * Undefined when the headers do not tell (e.g. a lone `csrf` cookie alongside another).
 */
export function detectSessionCookie(setCookie: readonly string[]): string | undefined {
  const names = setCookie.map((header) => parseSetCookie(header).name).filter(Boolean);
  const known = KNOWN_SESSION_COOKIES.find((name) => names.includes(name));
  if (known) return known;
  const sessionish = names.filter((name) => /sess|sid/i.test(name));
  if (sessionish.length === 1) return sessionish[0];
  const distinct = [...new Set(names)];
  return distinct.length === 1 && !/csrf|xsrf/i.test(distinct[0]) ? distinct[0] : undefined;
}

/** A Set-Cookie for the session cookie: the id it sets, or that it clears it. */
export interface IssuedCookie {
  /** The new value; undefined when the header clears the cookie. */
  value: string | undefined;
  cleared: boolean;
  secure: boolean;
  httpOnly: boolean;
  sameSite: string | undefined;
  maxAge: number | undefined;
  expires: string | undefined;
  domain: string | undefined;
  path: string | undefined;
}

export function sessionSetCookie(headers: readonly string[], cookieName: string, now: number): IssuedCookie | undefined {
  let found: IssuedCookie | undefined;
  for (const header of headers) {
    const parsed = parseSetCookie(header);
    if (parsed.name !== cookieName) continue;
    const expires = parsed.expires?.getTime();
    const cleared = parsed.value === '' || (parsed.maxAge !== undefined && parsed.maxAge <= 0) || (expires !== undefined && expires <= now);
    found = {
      value: cleared ? undefined : parsed.value,
      cleared,
      secure: parsed.secure === true,
      httpOnly: parsed.httpOnly === true,
      sameSite: typeof parsed.sameSite === 'string' ? parsed.sameSite.toLowerCase() : parsed.sameSite === true ? 'strict' : undefined,
      maxAge: parsed.maxAge,
      expires: parsed.expires?.toUTCString(),
      domain: parsed.domain,
      path: parsed.path,
    };
  }
  return found;
}

/** What one request's hops show about its session. */
export interface WireView {
  /** The backend that answered, and which record says so. */
  backend: string | undefined;
  backendFrom: 'tap' | 'balancer' | 'header' | undefined;
  /** The session id the client sent (its own record). */
  idSent: string | undefined;
  /**
   * The session id the backend received: a value, null for none, undefined
   * when no record shows what reached it (a --target run, say).
   */
  idReceived: string | null | undefined;
  /** Which record shows what the backend received. */
  receivedFrom: 'tap' | 'balancer' | undefined;
  /** The session id the balancer received from the client, when it recorded it. */
  idAtBalancer: string | null | undefined;
  /** The session cookie the backend set (or cleared); from the tap or balancer, else from what the client got. */
  issued: IssuedCookie | undefined;
  /** Why the answer means "log in first", when it does. */
  loginRequired: string | undefined;
}

/** The tap's record, when a per-backend recording tap ran (fields as the tap writes them). */
interface TapLike {
  backend?: string;
  cookie?: string;
  setCookie?: string[];
}

const cookieIn = (header: string | undefined, name: string): string | null => (header ? (parseCookie(header)[name] ?? null) : null);

/** "302 to /login", "401", "the body contains …": why an answer asks the user to log in; undefined when it does not. */
export function loginRequiredReason(r: { status: number; responseBody?: string; location?: string }, rules: BlackBoxRules): string | undefined {
  const { status } = r;
  if (rules.loginRequired.status.includes(status)) return `${status}`;
  if (status >= 300 && status < 400 && r.location) {
    let path: string;
    try {
      path = new URL(r.location, 'http://x.invalid').pathname;
    } catch {
      return undefined;
    }
    const target = rules.loginRequired.redirectTo ?? rules.loginPath;
    if (path === target || path.startsWith(target.endsWith('/') ? target : `${target}/`) || path.startsWith(`${target}?`)) {
      return `${status} redirect to ${r.location}`;
    }
  }
  const marker = rules.loginRequired.bodyContains;
  if (marker && r.responseBody?.includes(marker)) return `${status}, the page says ${JSON.stringify(marker)}`;
  return undefined;
}

export function wireView(r: RequestRecord, cookieName: string, rules: BlackBoxRules): WireView {
  const tap = (r as { tap?: TapLike }).tap;
  const backend = tap?.backend ?? r.proxy?.backend ?? r.servedBy;
  const backendFrom = tap?.backend ? 'tap' : r.proxy?.backend ? 'balancer' : r.servedBy ? 'header' : undefined;
  const idReceived = tap ? cookieIn(tap.cookie, cookieName) : r.proxy ? cookieIn(r.proxy.cookieOut, cookieName) : undefined;
  const fromBackend = tap?.setCookie ?? r.proxy?.setCookie ?? r.setCookie;
  return {
    backend,
    backendFrom,
    idSent: r.sessionIdSent,
    idReceived,
    receivedFrom: tap ? 'tap' : r.proxy ? 'balancer' : undefined,
    idAtBalancer: r.proxy ? cookieIn(r.proxy.cookieIn, cookieName) : undefined,
    issued: sessionSetCookie(fromBackend, cookieName, r.time),
    loginRequired: loginRequiredReason(r, rules),
  };
}
