/**
 * What a history file may hold. By default (`--history`) no secret: every
 * cookie value and session id becomes `#` and the 8 hex digits of its
 * SHA-256 — the same hash the backends report (X-Session-Id-Hash) and the
 * reports print (sid#2c94e541), so equal ids stay equal and the client,
 * balancer and backend views still join — and the values of request or
 * response body fields that look like secrets (password, token, …) or that
 * the scenario lists in `secretFields` become "[redacted]". `--history-raw`
 * keeps everything as sent.
 */
import { sessionIdHash } from '../../servers/session/session-id.js';
import type { JarCookie, RequestRecord } from './history.js';

/** Body fields redacted whatever the scenario says. */
export const SECRET_FIELDS = ['password', 'passwd', 'pass', 'secret', 'token', 'apikey', 'api_key', 'authorization', 'credentials'];
export const REDACTED = '[redacted]';

/** A value a redacted history holds in place of an id: `#` and 8 hex digits. */
const HASHED = /^#[0-9a-f]{8}$/;

/**
 * The hash of a session id as the backends report it (X-Session-Id-Hash),
 * whether the history holds the id itself or, redacted, its hash already:
 * so a redacted history file is diagnosed with the verdicts and evidence of
 * the run that wrote it.
 */
export function idHash(value: string): string {
  return HASHED.test(value) ? value.slice(1) : sessionIdHash(value);
}

/** A value replaced by its stable hash. */
export function hashed(value: string): string {
  return `#${sessionIdHash(value)}`;
}

const maybe = (value: string | undefined) => (value === undefined ? undefined : hashed(value));

/**
 * A cookie value's hash, of the value percent-decoded as a server reads it (the Cookie header's id is
 * read decoded): so `connect.sid=s%3A…` in a Set-Cookie header, the jar and the Cookie header hash
 * to the same `#…` as the id the client sent, and a redacted history joins as the run did.
 */
function cookieHashed(value: string): string {
  try {
    return hashed(decodeURIComponent(value));
  } catch {
    return hashed(value);
  }
}

/** `a=1; sid=xyz` → `a=#…; sid=#…`. */
export function redactCookieHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return header
    .split(';')
    .map((pair) => {
      const at = pair.indexOf('=');
      return at < 0 ? pair : `${pair.slice(0, at)}=${cookieHashed(pair.slice(at + 1).trim())}`;
    })
    .join(';');
}

/** `sid=xyz; Path=/; HttpOnly` → `sid=#…; Path=/; HttpOnly`: only the value, the first pair. */
export function redactSetCookie(header: string): string {
  const end = header.indexOf(';');
  const pair = end < 0 ? header : header.slice(0, end);
  const at = pair.indexOf('=');
  if (at < 0) return header;
  return `${pair.slice(0, at)}=${cookieHashed(pair.slice(at + 1).trim())}${end < 0 ? '' : header.slice(end)}`;
}

export interface Redactor {
  record(record: RequestRecord): RequestRecord;
}

/** A redactor for one run; `secretFields` adds the scenario's own secret body fields to SECRET_FIELDS. */
export function createRedactor(secretFields: readonly string[] = []): Redactor {
  const secret = new Set([...SECRET_FIELDS, ...secretFields].map((name) => name.toLowerCase()));
  const redactJson = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(redactJson);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, secret.has(key.toLowerCase()) ? REDACTED : redactJson(inner)]));
  };
  const redactBody = (body: string | undefined): string | undefined => {
    if (body === undefined || body === '') return body;
    try {
      return JSON.stringify(redactJson(JSON.parse(body)));
    } catch {
      // not JSON: a form body (a=1&password=x), or text left as it is
    }
    if (/^[^=&\s]+=[^&]*(&[^=&\s]+=[^&]*)*$/.test(body)) {
      const form = new URLSearchParams(body);
      for (const key of [...form.keys()]) if (secret.has(key.toLowerCase())) form.set(key, REDACTED);
      return form.toString();
    }
    return body;
  };
  const jar = (cookies: JarCookie[]) => cookies.map((cookie) => ({ ...cookie, value: cookieHashed(cookie.value) }));
  return {
    record: (r) => ({
      ...r,
      cookieSent: redactCookieHeader(r.cookieSent),
      sessionIdSent: maybe(r.sessionIdSent),
      sessionIdInJar: maybe(r.sessionIdInJar),
      sessionIdAfter: maybe(r.sessionIdAfter),
      setCookie: r.setCookie.map(redactSetCookie),
      requestBody: redactBody(r.requestBody),
      responseBody: redactBody(r.responseBody),
      jarAfter: jar(r.jarAfter),
      proxy: r.proxy && {
        ...r.proxy,
        cookieIn: redactCookieHeader(r.proxy.cookieIn),
        cookieOut: redactCookieHeader(r.proxy.cookieOut),
        setCookie: r.proxy.setCookie.map(redactSetCookie),
        setCookieOut: r.proxy.setCookieOut.map(redactSetCookie),
      },
      ...(r.tap ? { tap: { ...r.tap, cookie: redactCookieHeader(r.tap.cookie), setCookie: r.tap.setCookie.map(redactSetCookie) } } : {}),
    }),
  };
}
