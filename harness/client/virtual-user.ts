/**
 * A virtual user: one browser-faithful cookie jar (tough-cookie, with
 * Chromium's rules where they differ: browser-jar.ts) and an undici dispatcher. For each request it sends exactly the cookies a
 * browser would send to that URL (Secure, Domain, Path, expiry) and stores
 * every Set-Cookie the way a browser would, noting the ones it refused and
 * why, and why a cookie it holds was not sent.
 */
import { Cookie, CookieJar, domainMatch, getPublicSuffix, pathMatch } from 'tough-cookie';
import type { Dispatcher } from 'undici';
import type { JarCookie } from '../history/history.js';
import { storeLikeChromium } from './browser-jar.js';

/** What kind of browser this user is. */
export interface ClientPolicy {
  /** `refuse`: a browser with cookies blocked. */
  cookies: 'accept' | 'refuse';
  /**
   * Send and accept Secure cookies on http://localhost and 127.0.0.1, as
   * current browsers do (and tough-cookie's allowSecureOnLocal). Off: the
   * strict RFC 6265 rule, http is never secure.
   */
  secureOnLocal: boolean;
}

export const DEFAULT_CLIENT_POLICY: Readonly<ClientPolicy> = { cookies: 'accept', secureOnLocal: true };

/** RFC 6265bis §5.6: a cookie whose name and value exceed 4096 octets is ignored entirely. */
export const MAX_COOKIE_NAME_VALUE_BYTES = 4096;

export interface ClientRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  /** The page it is made from (a link or form); on another site, SameSite rules apply. */
  from?: string;
  /** An image, script or fetch the page at `from` makes, not a navigation: cross-site, only SameSite=None cookies go. */
  subresource?: boolean;
  headers?: Record<string, string>;
  body?: string;
}

export interface RefusedCookie {
  name: string;
  reason: string;
}

export interface ClientExchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The Cookie header the jar produced for this URL, if any. */
  cookieSent: string | undefined;
  setCookie: string[];
  /** Set-Cookie headers the jar did not store, and why. */
  refused: RefusedCookie[];
  durationMs: number;
  /** Network error instead of a response. */
  error?: string;
}

type SameSiteContext = 'strict' | 'lax' | 'none';

/**
 * The SameSite context of a request, as browsers compute it: same-site
 * (same scheme and registrable domain) → strict; from another site, a GET
 * (a top-level link) → lax; anything else from another site (a form POST,
 * an image or fetch) → none.
 */
export function sameSiteContext(method: string, url: string, from: string | undefined, subresource = false): SameSiteContext {
  if (!from) return 'strict';
  const target = new URL(url);
  const origin = new URL(from);
  const site = (u: URL) => `${u.protocol}//${getPublicSuffix(u.hostname, { allowSpecialUseDomain: true, ignoreError: true }) ?? u.hostname}`;
  if (site(target) === site(origin)) return 'strict';
  return !subresource && (method === 'GET' || method === 'HEAD') ? 'lax' : 'none';
}

/**
 * Which browser rule keeps `cookie` off a request to `url` made with
 * `method` from the page `from`: Secure, SameSite, Domain, Path; undefined
 * when none does.
 */
export function explainWithheld(cookie: JarCookie, url: string, method: string, from: string | undefined, secureOnLocal: boolean): string | undefined {
  const target = new URL(url);
  const name = cookie.name;
  const context = sameSiteContext(method, url, from);
  const local = target.hostname === 'localhost' || target.hostname === '127.0.0.1' || target.hostname === '[::1]';
  if (cookie.secure && target.protocol !== 'https:' && !(local && secureOnLocal)) {
    return `Secure cookie ${name} withheld by the client: request URL is ${target.protocol.slice(0, -1)} (${url})`;
  }
  if (cookie.sameSite === 'strict' && context !== 'strict') {
    return `SameSite=Strict cookie ${name} withheld by the client: the request comes from another site (${from})`;
  }
  if (cookie.sameSite === 'lax' && context === 'none') {
    return `SameSite=Lax cookie ${name} withheld by the client: a cross-site ${method} from ${from}`;
  }
  const hostMatches = cookie.hostOnly ? target.hostname === cookie.domain : domainMatch(target.hostname, cookie.domain ?? '');
  if (!hostMatches) return `cookie ${name} belongs to ${cookie.domain}${cookie.hostOnly ? ' only' : ' and its subdomains'}, not sent to ${target.hostname}`;
  if (cookie.path && !pathMatch(target.pathname, cookie.path)) return `cookie ${name} has Path=${cookie.path}, which does not cover ${target.pathname}`;
  return undefined;
}

function cookieNameOf(header: string): string {
  const eq = header.indexOf('=');
  return (eq < 0 ? header : header.slice(0, eq)).trim();
}

export class VirtualUser {
  readonly jar: CookieJar;
  readonly policy: ClientPolicy;
  readonly #dispatcher: Dispatcher;
  #contents: JarCookie[] | undefined;
  #contentsValidUntil = 0;
  /** Cookie headers by URL, valid while #contents is. */
  readonly #headers = new Map<string, string>();
  /** Origin and path by URL: a user asks for the same few pages again and again. */
  readonly #targets = new Map<string, { origin: string; path: string }>();

  constructor(dispatcher: Dispatcher, policy: Partial<ClientPolicy> = {}) {
    this.#dispatcher = dispatcher;
    this.policy = { ...DEFAULT_CLIENT_POLICY, ...policy };
    this.jar = new CookieJar(undefined, { allowSecureOnLocal: this.policy.secureOnLocal });
  }

  /** The value of cookie `name` in the jar, whatever URL it would go to. */
  cookieValue(name: string): string | undefined {
    return this.contents().find((cookie) => cookie.name === name)?.value;
  }

  /** Everything the jar holds, expired cookies excluded. */
  contents(): JarCookie[] {
    const now = Date.now();
    // Read the jar again only when it changed or a cookie in it has expired since.
    if (this.#contents && now < this.#contentsValidUntil) return this.#contents;
    // A cookie expired since the Cookie headers were cached: they are stale too.
    this.#headers.clear();
    const out: JarCookie[] = [];
    let validUntil = Infinity;
    for (const serialized of this.jar.serializeSync()?.cookies ?? []) {
      const cookie = Cookie.fromJSON(serialized);
      if (!cookie) continue;
      // expiryTime() is absolute (creation + Max-Age, or Expires); TTL() is not.
      const expiry = cookie.expiryTime();
      if (expiry !== undefined && expiry <= now) continue;
      if (expiry !== undefined && Number.isFinite(expiry)) validUntil = Math.min(validUntil, expiry);
      out.push({
        name: cookie.key,
        value: cookie.value,
        domain: cookie.domain ?? null,
        path: cookie.path ?? null,
        secure: cookie.secure,
        httpOnly: cookie.httpOnly,
        hostOnly: cookie.hostOnly ?? true,
        sameSite: cookie.sameSite ?? 'none',
        expires: expiry === undefined || !Number.isFinite(expiry) ? null : new Date(expiry).toISOString(),
      });
    }
    this.#contents = out;
    this.#contentsValidUntil = validUntil;
    return out;
  }

  /** Why the jar holds cookie `name` but would not send it to `url` (from `from`); undefined if it would (or holds none). */
  explainWithheld(name: string, url: string, method = 'GET', from?: string): string | undefined {
    const cookie = this.contents().find((c) => c.name === name);
    if (!cookie) return undefined;
    const context = sameSiteContext(method, url, from);
    if (this.jar.getCookiesSync(url, { sameSiteContext: context }).some((c) => c.key === name)) return undefined;
    return explainWithheld(cookie, url, method, from, this.policy.secureOnLocal) ?? `cookie ${name} not sent to ${url} by the jar's RFC 6265 rules`;
  }

  #store(header: string, url: string): RefusedCookie | undefined {
    const name = cookieNameOf(header);
    if (this.policy.cookies === 'refuse') return { name, reason: 'the client refuses cookies' };
    const parsed = Cookie.parse(header);
    if (parsed && Buffer.byteLength(parsed.key) + Buffer.byteLength(parsed.value) > MAX_COOKIE_NAME_VALUE_BYTES) {
      return { name, reason: `cookie over ${MAX_COOKIE_NAME_VALUE_BYTES} bytes ignored (RFC 6265bis)` };
    }
    this.#contents = undefined;
    this.#headers.clear();
    if (!parsed) return { name, reason: 'ignored by the jar (RFC 6265 storage rules)' };
    try {
      const stored = storeLikeChromium(this.jar, parsed, url, Date.now());
      return stored ? undefined : { name, reason: 'ignored by the jar (RFC 6265 storage rules)' };
    } catch (error) {
      return { name, reason: `rejected by the jar: ${(error as Error).message}` };
    }
  }

  /**
   * The Cookie header the jar sends to `url`: tough-cookie's answer, kept
   * until the jar changes or one of its cookies expires — the same answer,
   * without the domain and path matching on every request of a long run.
   */
  cookieHeader(url: string, context: SameSiteContext = 'strict'): string | undefined {
    const now = Date.now();
    if (this.#contentsValidUntil <= now || !this.#contents) this.#headers.clear();
    const key = `${context} ${url}`;
    const cached = this.#headers.get(key);
    if (cached !== undefined) return cached || undefined;
    const header = this.jar.getCookieStringSync(url, { sameSiteContext: context });
    this.contents(); // sets the time until which the jar's answers hold
    if (this.#headers.size > 256) this.#headers.clear();
    this.#headers.set(key, header);
    return header || undefined;
  }

  async send(req: ClientRequest): Promise<ClientExchange> {
    const context = sameSiteContext(req.method, req.url, req.from, req.subresource);
    // A cross-site image or fetch is a third-party request: Chromium's private
    // profiles (and Safari, Firefox's strict mode) send it no cookies at all,
    // SameSite=None included. The conformance suite checks this against Chromium.
    const cookieSent = req.subresource && context !== 'strict' ? undefined : this.cookieHeader(req.url, context);
    const headers: Record<string, string> = { ...req.headers };
    if (cookieSent) headers.cookie = cookieSent;
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    try {
      const { status, responseHeaders, body } = await this.#dispatch(req, headers);
      const raw = responseHeaders['set-cookie'];
      const setCookie = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
      const refused: RefusedCookie[] = [];
      for (const header of setCookie) {
        const refusal = this.#store(header, req.url);
        if (refusal) refused.push(refusal);
      }
      return { status, headers: responseHeaders, body, cookieSent, setCookie, refused, durationMs: elapsed() };
    } catch (error) {
      return {
        status: 0,
        headers: {},
        body: '',
        cookieSent,
        setCookie: [],
        refused: [],
        durationMs: elapsed(),
        error: (error as NodeJS.ErrnoException).code ?? (error as Error).message,
      };
    }
  }

  /**
   * One request through undici's dispatch API: the response collected in
   * place, without the stream the request() API builds around each body —
   * about twice the requests per second on a small response.
   */
  #dispatch(req: ClientRequest, headers: Record<string, string>): Promise<{ status: number; responseHeaders: Record<string, string | string[] | undefined>; body: string }> {
    let target = this.#targets.get(req.url);
    if (!target) {
      const url = new URL(req.url);
      target = { origin: url.origin, path: `${url.pathname}${url.search}` };
      if (this.#targets.size > 256) this.#targets.clear();
      this.#targets.set(req.url, target);
    }
    const { origin, path } = target;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let status = 0;
      let responseHeaders: Record<string, string | string[] | undefined> = {};
      this.#dispatcher.dispatch(
        { origin, path, method: req.method as Dispatcher.HttpMethod, headers, body: req.body },
        {
          onRequestStart() {},
          onResponseStart(_controller, statusCode, responseHeadersIn) {
            status = statusCode;
            responseHeaders = responseHeadersIn;
          },
          onResponseData(_controller, chunk) {
            chunks.push(chunk);
          },
          onResponseEnd() {
            resolve({ status, responseHeaders, body: chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString() });
          },
          onResponseError(_controller, error) {
            reject(error);
          },
        },
      );
    });
  }
}
