/**
 * A user whose requests go through a real headless Chromium context (one
 * context = one browser profile = one cookie jar), for `--client chromium`:
 * the cookies sent and kept are Chromium's own decisions, so a verdict
 * reached with the virtual users' jar can be confirmed with a real browser.
 *
 *   GET without `from`   a navigation typed into the address bar (page.goto)
 *   GET with `from`      a click on a link in a page of the `from` site
 *   other methods        fetch() from a page of the target's own origin
 *                        (with `from`: from a page of that site)
 *
 * The pages of other sites (and the blank page a fetch starts from) are
 * served inside the browser (page.route), so nothing but the cluster is
 * contacted. What Chromium sent (Cookie) and received (Set-Cookie) is read
 * from its network events, as DevTools shows them.
 *
 * What each costs Chromium is a navigation (~0.15 s of CPU, a renderer
 * process for each site it crosses to), so a user makes only the ones its
 * requests are: a link is clicked with the mouse where it lies (the page
 * is the link), not with page.click(), whose actionability checks load
 * Playwright's selector engine into every new document (~0.2 s more per
 * click, measured); a fetch() starts from the page the user is on when
 * that is a plain document of the target's origin, not from a blank page
 * navigated to first.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page, Response } from 'playwright-core';
import type { JarCookie } from '../history/history.js';
import { budgetShare } from '../util/budget.js';
import { launchChromium, type StartedChromium } from '../util/chromium.js';
import type { Site } from './network.js';
import { explainWithheld, type ClientExchange, type ClientRequest } from './virtual-user.js';

const BLANK_PATH = '/__session-lab-blank__';
const BLANK_PAGE = '<!doctype html><title>blank</title>';
/** A page of another site that is one link, filling the window: a click anywhere follows it. */
const linkPage = (url: string) => `<!doctype html><a id="go" href="${escape(url)}" style="position:fixed;inset:0">link</a>`;
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export class ChromiumUser {
  readonly #context: BrowserContext;
  readonly #idle: Page[] = [];
  /**
   * The document each page shows, when a fetch() may start from it as from
   * the blank page: a response of the cluster with no script, no refresh
   * and no Content-Security-Policy (nothing that could navigate it away or
   * refuse the fetch), or the blank page itself.
   */
  readonly #fetchFrom = new WeakMap<Page, string>();
  #cookies: JarCookie[] = [];
  /** The site pages served in the browser: origin → the link or form they carry. */
  readonly #pages = new Map<string, string>();

  private constructor(context: BrowserContext) {
    this.#context = context;
  }

  /** `blankPort`: a loopback server answering the blank page of an http origin (see startChromiumClients). */
  static async open(browser: StartedChromium, blankPort?: number): Promise<ChromiumUser> {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const user = new ChromiumUser(context);
    await context.route(
      (url) => url.pathname === BLANK_PATH || user.#pages.has(url.href),
      (route) => {
        const url = new URL(route.request().url());
        if (url.pathname === BLANK_PATH && url.protocol === 'http:' && blankPort !== undefined) return route.continue({ url: `http://127.0.0.1:${blankPort}${BLANK_PATH}` });
        return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: user.#pages.get(url.href) ?? BLANK_PAGE });
      },
    );
    return user;
  }

  /** The value of cookie `name` in the browser, as of the last request. */
  cookieValue(name: string): string | undefined {
    return this.#cookies.find((cookie) => cookie.name === name)?.value;
  }

  contents(): JarCookie[] {
    return this.#cookies;
  }

  /** Why cookie `name` would not go to `url` (by the rules Chromium applies), or undefined. */
  explainWithheld(name: string, url: string, method = 'GET', from?: string): string | undefined {
    const cookie = this.#cookies.find((c) => c.name === name);
    return cookie ? explainWithheld(cookie, url, method, from, true) : undefined;
  }

  /** Reads the browser's cookies again (they may have expired since the last request). */
  async refresh(): Promise<void> {
    const now = Date.now() / 1000;
    this.#cookies = (await this.#context.cookies())
      .filter((c) => c.expires === -1 || c.expires > now)
      .map((c) => ({
        name: c.name,
        value: c.value,
        domain: c.domain.replace(/^\./, ''),
        path: c.path,
        secure: c.secure,
        httpOnly: c.httpOnly,
        hostOnly: !c.domain.startsWith('.'),
        sameSite: c.sameSite.toLowerCase(),
        expires: c.expires === -1 ? null : new Date(c.expires * 1000).toISOString(),
      }));
  }

  async send(req: ClientRequest): Promise<ClientExchange> {
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    const page = this.#idle.pop() ?? (await this.#context.newPage());
    try {
      const response = await this.#request(page, req);
      const headers = await response.allHeaders();
      const sentHeaders = await response.request().allHeaders();
      const setCookie = (await response.headersArray()).filter((h) => h.name.toLowerCase() === 'set-cookie').map((h) => h.value);
      const body = await response.text().catch(() => '');
      const durationMs = elapsed();
      if (response.request().isNavigationRequest() && response.frame() === page.mainFrame()) {
        const plain = !headers['content-security-policy'] && !headers.refresh && !/<script|http-equiv/i.test(body);
        if (plain) this.#fetchFrom.set(page, response.url());
        else this.#fetchFrom.delete(page);
      }
      await this.refresh();
      const readAfterMs = elapsed();
      const exchange: ClientExchange = {
        status: response.status(),
        headers: { ...headers, 'set-cookie': setCookie },
        body,
        cookieSent: sentHeaders.cookie || undefined,
        setCookie,
        // Chromium does not say which Set-Cookie it refused; the jar after the answer shows what it kept —
        // less what may have lapsed before it was read (a short Max-Age on a slow machine): not a refusal.
        refused: setCookie
          .filter((header) => !mayHaveLapsed(header, readAfterMs))
          .map((header) => header.slice(0, header.indexOf('=')).trim())
          .filter((name) => !this.#cookies.some((c) => c.name === name) && !setCookie.some((h) => h.startsWith(`${name}=;`) || /max-age=0/i.test(h)))
          .map((name) => ({ name, reason: 'not stored by Chromium' })),
        durationMs,
      };
      this.#idle.push(page);
      return exchange;
    } catch (error) {
      await page.close().catch(() => undefined);
      return { status: 0, headers: {}, body: '', cookieSent: undefined, setCookie: [], refused: [], durationMs: elapsed(), error: (error as Error).message.split('\n')[0] };
    }
  }

  async #request(page: Page, req: ClientRequest): Promise<Response> {
    const timeout = budgetShare(0.5);
    const headers = req.headers ?? {};
    if (req.method === 'GET' && !req.subresource) {
      await page.setExtraHTTPHeaders(headers);
      if (!req.from) {
        const response = await page.goto(req.url, { timeout, waitUntil: 'commit' });
        if (!response) throw new Error(`chromium: no response for ${req.url}`);
        return response;
      }
      const origin = new URL(req.from);
      this.#pages.set(origin.href, linkPage(req.url));
      await page.goto(origin.href, { timeout });
      // A person's click (trusted, with user activation) on the link that fills the page.
      const [response] = await Promise.all([page.waitForResponse((r) => r.url() === req.url && r.request().isNavigationRequest(), { timeout }), page.mouse.click(1, 1)]);
      return response;
    }
    // Anything else: fetch() from a page of the origin the request is made from.
    await page.setExtraHTTPHeaders({});
    const origin = req.from ? new URL(req.from).origin : new URL(req.url).origin;
    const current = this.#fetchFrom.get(page);
    if (current === undefined || current !== page.url() || new URL(current).origin !== origin) {
      await page.goto(`${origin}${BLANK_PATH}`, { timeout });
      this.#fetchFrom.set(page, page.url());
    }
    const id = headers['x-slab-request-id'] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === 'x-slab-request-id')?.[1];
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === req.url && (id === undefined || r.request().headers()['x-slab-request-id'] === id), { timeout }),
      page.evaluate(
        async ({ url, method, headers, body }) => {
          await fetch(url, { method, headers, body, credentials: 'include' }).catch(() => undefined);
        },
        { url: req.url, method: req.method, headers, body: req.body },
      ),
    ]);
    return response;
  }

  async close(): Promise<void> {
    await this.#context.close().catch(() => undefined);
  }
}

/**
 * Whether the cookie a Set-Cookie header made may have run out by the time the jar was read,
 * `sinceSentMs` after the request left (it was received after that): Max-Age counts from receipt.
 */
function mayHaveLapsed(header: string, sinceSentMs: number): boolean {
  const attributes = header
    .split(';')
    .slice(1)
    .map((a) => a.trim());
  const maxAge = attributes.find((a) => /^max-age=/i.test(a));
  if (maxAge) return Number(maxAge.slice(8)) * 1000 <= sinceSentMs;
  const expires = attributes.find((a) => /^expires=/i.test(a));
  return expires !== undefined && Date.parse(expires.slice(8)) <= Date.now();
}

export { CHROMIUM_MAX_PASSES } from '../runner/run-options.js';

/**
 * One headless Chromium for a run, reaching the site by name on the cluster's ports.
 *
 * The blank page of an http origin comes from a loopback server of its own
 * (the request is sent there instead of to the cluster, its URL unchanged):
 * a page fulfilled inside the browser has no address, Chromium counts it as
 * public, and refuses its fetch() to the cluster on 127.0.0.1 from a
 * non-secure context (Local Network Access: "the request client is not a
 * secure context and the resource is in more-private address space
 * `loopback`"). An https page may ask, and is served inside the browser.
 */
export async function startChromiumClients(site: Site): Promise<{ open(): Promise<ChromiumUser>; stop(): Promise<void> }> {
  const apex = site.hostname.split('.').slice(1).join('.');
  const hosts = [site.hostname, `*.${apex}`].flatMap((host) => [{ host, port: 80, to: site.httpPort }, ...(site.httpsPort !== undefined ? [{ host, port: 443, to: site.httpsPort }] : [])]);
  const blank = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(BLANK_PAGE);
  });
  await new Promise<void>((resolve, reject) => blank.once('error', reject).listen(0, '127.0.0.1', resolve));
  const closeBlank = () => {
    blank.closeAllConnections();
    return new Promise<void>((resolve) => blank.close(() => resolve()));
  };
  let browser: StartedChromium;
  try {
    browser = await launchChromium({ hosts });
  } catch (error) {
    await closeBlank();
    throw error;
  }
  const blankPort = (blank.address() as AddressInfo).port;
  return { open: () => ChromiumUser.open(browser, blankPort), stop: async () => void (await Promise.all([browser.stop(), closeBlank()])) };
}
