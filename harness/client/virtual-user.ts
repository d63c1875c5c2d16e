/**
 * A virtual user: one browser-faithful cookie jar (tough-cookie, RFC 6265)
 * and an undici dispatcher. For each request it sends exactly the cookies a
 * browser would send to that URL (Secure, Domain, Path, expiry) and stores
 * every Set-Cookie the way a browser would.
 */
import { Cookie, CookieJar } from 'tough-cookie';
import { request, type Dispatcher } from 'undici';
import type { JarCookie } from '../history/history.js';

export interface ClientRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface ClientExchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The Cookie header the jar produced for this URL, if any. */
  cookieSent: string | undefined;
  setCookie: string[];
  durationMs: number;
  /** Network error instead of a response. */
  error?: string;
}

export class VirtualUser {
  readonly jar: CookieJar;
  readonly #dispatcher: Dispatcher;

  constructor(dispatcher: Dispatcher, jar: CookieJar = new CookieJar()) {
    this.#dispatcher = dispatcher;
    this.jar = jar;
  }

  /** The value of cookie `name` in the jar, whatever URL it would go to. */
  cookieValue(name: string): string | undefined {
    return this.contents().find((cookie) => cookie.name === name)?.value;
  }

  /** Everything the jar holds, expired cookies excluded (tough-cookie's own TTL rule). */
  contents(): JarCookie[] {
    const now = Date.now();
    const out: JarCookie[] = [];
    for (const serialized of this.jar.serializeSync()?.cookies ?? []) {
      const cookie = Cookie.fromJSON(serialized);
      if (!cookie || cookie.TTL(now) <= 0) continue;
      const expiry = cookie.expiryTime();
      out.push({
        name: cookie.key,
        value: cookie.value,
        domain: cookie.domain ?? null,
        path: cookie.path ?? null,
        secure: cookie.secure,
        httpOnly: cookie.httpOnly,
        expires: expiry === undefined || !Number.isFinite(expiry) ? null : new Date(expiry).toISOString(),
      });
    }
    return out;
  }

  async send(req: ClientRequest): Promise<ClientExchange> {
    const cookieSent = this.jar.getCookieStringSync(req.url) || undefined;
    const headers: Record<string, string> = { ...req.headers };
    if (cookieSent) headers.cookie = cookieSent;
    const started = process.hrtime.bigint();
    try {
      const response = await request(req.url, {
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: req.body,
        dispatcher: this.#dispatcher,
      });
      const body = await response.body.text();
      const raw = response.headers['set-cookie'];
      const setCookie = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
      for (const header of setCookie) {
        // A cookie the jar rejects (bad domain, oversized) is ignored, as a browser does.
        this.jar.setCookieSync(header, req.url, { ignoreError: true });
      }
      return {
        status: response.statusCode,
        headers: response.headers,
        body,
        cookieSent,
        setCookie,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
      };
    } catch (error) {
      return {
        status: 0,
        headers: {},
        body: '',
        cookieSent,
        setCookie: [],
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        error: (error as NodeJS.ErrnoException).code ?? (error as Error).message,
      };
    }
  }
}
