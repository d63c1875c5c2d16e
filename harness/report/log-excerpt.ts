/**
 * What the backend itself logged around a reset, for the reports: the lines
 * of the backend that answered the reset request (and, when another one
 * issued the lost id, of that one) nearest the request, from a moment
 * before it until a moment after its answer, from the per-backend log the launchers keep (stdout/stderr of
 * the user's app, pino lines of session-lab's servers).
 *
 * An app's log is not ours to trust: it may print cookies, session ids or
 * the login it was sent. Every line is redacted before it leaves here:
 *
 *   - every session cookie value of the run (as sent, percent-decoded, and
 *     the id inside express-session's `s:ID.SIG`) → `sid#` and its hash,
 *     the form the rest of the report uses;
 *   - `NAME=value` of the session cookie anywhere in the line → hashed;
 *   - the values of secret fields the run sent (password, token…, and the
 *     scenario's secretFields) and any `password=…` / `"password": "…"`
 *     → [redacted].
 */
import type { BackendLogLine } from '../backend/backend-process.js';
import type { Verdict } from '../diagnosis/diagnose.js';
import type { RequestRecord } from '../history/history.js';
import { REDACTED, SECRET_FIELDS } from '../history/redact.js';
import { storeIdOf } from '../redis/session-key.js';
import { sessionIdHash } from '../../servers/session/session-id.js';

export interface LogExcerpt {
  user: number;
  run: number;
  browser: number;
  step: number;
  /** The backends quoted. */
  backends: string[];
  /** `+1.204 s app-2 | GET /account 302`, redacted, oldest first. */
  lines: string[];
}

export interface LogExcerptOptions {
  /** ms since the run started are counted from this epoch time. */
  origin: number;
  cookieName: string;
  secretFields?: readonly string[];
  /** How far before the request to look, in ms (default 2000). */
  beforeMs?: number;
  /** How far past its answer, in ms (default 1000): lines are stamped when read. */
  afterMs?: number;
  /** Lines per reset at most (those nearest the request; default 12). */
  maxLines?: number;
  /** Resets quoted at most (default 50). */
  maxResets?: number;
}

const OMITTED = new Set(['backend', 'time', 'pid', 'hostname', 'level', 'v', 'stream']);
const decode = (value: string) => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A function that removes the run's session ids and secrets from a line of text. */
export function logRedactor(records: readonly RequestRecord[], cookieName: string, secretFields: readonly string[] = []): (text: string) => string {
  const secretNames = [...SECRET_FIELDS, ...secretFields];
  // Session cookie values → their hash, longest first (a signed value contains its id).
  const ids = new Map<string, string>();
  const addId = (value: string | undefined) => {
    if (!value || value.startsWith('#')) return;
    const hash = `sid#${sessionIdHash(decode(value))}`;
    for (const form of [value, decode(value), storeIdOf(decode(value)), encodeURIComponent(decode(value))]) if (form.length >= 8 && !ids.has(form)) ids.set(form, hash);
  };
  const secrets = new Set<string>();
  const addSecrets = (body: string | undefined) => {
    if (!body) return;
    try {
      const visit = (value: unknown): void => {
        if (value && typeof value === 'object') {
          for (const [key, inner] of Object.entries(value)) {
            if (secretNames.some((name) => name.toLowerCase() === key.toLowerCase()) && typeof inner === 'string' && inner.length >= 3) secrets.add(inner);
            else visit(inner);
          }
        }
      };
      visit(JSON.parse(body));
    } catch {
      for (const [key, value] of new URLSearchParams(body)) if (secretNames.some((name) => name.toLowerCase() === key.toLowerCase()) && value.length >= 3) secrets.add(value);
    }
  };
  for (const r of records) {
    addId(r.sessionIdSent);
    addId(r.sessionIdAfter);
    addId(r.sessionIdInJar);
    for (const header of r.setCookie) {
      const pair = header.split(';', 1)[0];
      if (pair.slice(0, pair.indexOf('=')).trim() === cookieName) addId(pair.slice(pair.indexOf('=') + 1).trim());
    }
    addSecrets(r.requestBody);
  }
  const idPattern = ids.size
    ? new RegExp(
        [...ids.keys()]
          .sort((a, b) => b.length - a.length)
          .map(escapeRegExp)
          .join('|'),
        'g',
      )
    : undefined;
  const secretPattern = secrets.size
    ? new RegExp(
        [...secrets]
          .sort((a, b) => b.length - a.length)
          .map(escapeRegExp)
          .join('|'),
        'g',
      )
    : undefined;
  const cookiePattern = new RegExp(`(${escapeRegExp(cookieName)}=)([^;,\\s"']+)`, 'g');
  const fieldPattern = new RegExp(`((?:"|\\b)(?:${secretNames.map(escapeRegExp).join('|')})"?\\s*[:=]\\s*)("[^"]*"|[^\\s,;&}]+)`, 'gi');
  return (text) => {
    let out = text;
    if (idPattern) out = out.replace(idPattern, (match) => ids.get(match) ?? match);
    out = out.replace(cookiePattern, (_all, name: string, value: string) => (value.startsWith('sid#') ? `${name}${value}` : `${name}sid#${sessionIdHash(decode(value))}`));
    if (secretPattern) out = out.replace(secretPattern, REDACTED);
    return out.replace(fieldPattern, (_all, key: string) => `${key}${REDACTED}`);
  };
}

function formatLine(line: BackendLogLine, origin: number): string {
  const fields = Object.entries(line).filter(([key]) => !OMITTED.has(key) && key !== 'msg');
  const msg = typeof line.msg === 'string' ? line.msg : '';
  const rest = fields.length ? `${msg ? ' ' : ''}${fields.map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' ')}` : '';
  return `+${((line.time - origin) / 1000).toFixed(3)} s ${line.backend} | ${msg}${rest}`;
}

/** For each reset (the first `maxResets`), the redacted lines its backends logged from `beforeMs` before the request until its answer. */
export function logExcerpts(resets: readonly Verdict[], records: readonly RequestRecord[], log: readonly BackendLogLine[], options: LogExcerptOptions): LogExcerpt[] {
  if (!log.length || !resets.length) return [];
  const { origin, beforeMs = 2000, afterMs = 1000, maxLines = 12, maxResets = 50 } = options;
  const redact = logRedactor(records, options.cookieName, options.secretFields);
  const recordOf = new Map(records.map((r) => [`${r.user}/${r.run}/${r.browser ?? 1}/${r.step}`, r]));
  const excerpts: LogExcerpt[] = [];
  for (const v of resets.slice(0, maxResets)) {
    const r = recordOf.get(`${v.user}/${v.run}/${v.browser}/${v.step}`);
    if (!r || !v.backend) continue;
    // The backend that issued the lost id, when the evidence names one (black-box, signature, memory store).
    const facts = v.facts as { issuedBy?: unknown; createdOn?: unknown };
    const issuedBy = typeof facts.issuedBy === 'string' ? facts.issuedBy : typeof facts.createdOn === 'string' ? facts.createdOn : undefined;
    const backends = [...new Set([v.backend, ...(issuedBy ? [issuedBy] : [])])];
    // A line is stamped when the harness reads it, a moment after the app wrote it: the window runs on past the answer.
    const from = r.time - beforeMs;
    const to = r.time + r.durationMs + afterMs;
    const near = log.filter((line) => backends.includes(line.backend) && line.time >= from && line.time <= to);
    // The lines nearest the request, in the order they were logged.
    const distance = (line: BackendLogLine) => (line.time < r.time ? r.time - line.time : Math.max(0, line.time - r.time - r.durationMs));
    const kept = new Set([...near].sort((a, b) => distance(a) - distance(b)).slice(0, maxLines));
    const lines = near.filter((line) => kept.has(line));
    if (lines.length) excerpts.push({ user: v.user, run: v.run, browser: v.browser, step: v.step, backends, lines: lines.map((line) => redact(formatLine(line, origin))) });
  }
  return excerpts;
}
