/**
 * A loopback cookie lab: one http and one https server answering any site
 * name (site.test, sub.site.test, other.test, localhost), and two clients
 * that walk the same steps — headless Chromium and a virtual user — so a
 * test can compare the Cookie header each sent on every probe.
 *
 *   /set?c=<Set-Cookie>&c=…     answers with those Set-Cookie headers
 *   /probe/…?id=<n>             records the Cookie header it received
 *   /page?link=<url>|form=<url>|img=<url>   a page on another site that links, posts or embeds
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import type { BrowserContext, Page } from 'playwright-core';
import { makeCertificate } from '../../harness/balancer/certificate.js';
import { VirtualUser } from '../../harness/client/virtual-user.js';
import { launchChromium, type StartedChromium } from '../../harness/util/chromium.js';
import { pollUntil } from '../../harness/util/wait.js';
import { timeoutBudgetMs } from '../../harness/util/budget.js';

export const SITE_NAMES = ['site.test', 'sub.site.test', 'other.test'] as const;

export interface Probe {
  id: number;
  cookie: string | undefined;
  method: string;
  path: string;
}

export interface CookieLab {
  http: (host: string, path: string) => string;
  https: (host: string, path: string) => string;
  probes: Map<number, Probe>;
  ca: string;
  stop(): Promise<void>;
}

function page(body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>${body}</body></html>`;
}

const FILL = 'position:fixed;inset:0;margin:0';

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export async function startCookieLab(): Promise<CookieLab> {
  const tls = await makeCertificate([...SITE_NAMES]);
  const probes = new Map<number, Probe>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    // No Date header: Chromium shifts an Expires by the server's clock skew (Expires − Date, and Date
    // has whole seconds), which would move the end the lifetime test checks by up to a second.
    res.sendDate = false;
    const finish = (html: string, setCookie: string[] = []) => {
      if (setCookie.length) res.setHeader('set-cookie', setCookie);
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.setHeader('cache-control', 'no-store');
      res.end(page(html));
    };
    req.resume();
    req.on('end', () => {
      if (url.pathname.endsWith('/set')) return finish('set', url.searchParams.getAll('c'));
      if (url.searchParams.has('id')) {
        const id = Number(url.searchParams.get('id'));
        probes.set(id, { id, cookie: req.headers.cookie, method: req.method ?? 'GET', path: url.pathname });
        if (url.searchParams.get('img')) {
          res.setHeader('content-type', 'image/gif');
          res.setHeader('cache-control', 'no-store');
          return res.end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'));
        }
        return finish(`probe ${id}`);
      }
      if (url.pathname === '/page') {
        const link = url.searchParams.get('link');
        const form = url.searchParams.get('form');
        const img = url.searchParams.get('img');
        // The link or the form's button fills the window: a mouse click anywhere is a click on it.
        if (link) return finish(`<a id="go" href="${escape(link)}" style="${FILL}">go</a>`);
        if (form) return finish(`<form id="go" method="post" action="${escape(form)}"><input type="hidden" name="x" value="1"><button style="${FILL}">go</button></form>`);
        if (img) return finish(`<img id="go" src="${escape(img)}">`);
      }
      res.statusCode = 404;
      finish('not found');
    });
  };
  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  const plain = createHttpServer(handler);
  const secure = createHttpsServer({ key: tls.key, cert: tls.cert }, handler);
  const [httpPort, httpsPort] = await Promise.all([listen(plain), listen(secure)]);
  return {
    http: (host, path) => `http://${host}:${httpPort}${path}`,
    https: (host, path) => `https://${host}:${httpsPort}${path}`,
    probes,
    ca: tls.cert,
    async stop() {
      plain.closeAllConnections();
      secure.closeAllConnections();
      await Promise.all([new Promise((resolve) => plain.close(resolve)), new Promise((resolve) => secure.close(resolve))]);
    },
  };
}

/** How a probe request is made. */
export interface ProbeRequest {
  url: string;
  /** Made from a page on this origin (a link, a form or an image); absent: typed into the address bar. */
  from?: string;
  /** `fetch`: a same-origin fetch() from the page the client is on (`from` is ignored), a request that is no navigation. */
  via?: 'link' | 'form' | 'img' | 'fetch';
}

/** A browser under test: stores cookies from /set answers, and makes probe requests. */
export interface CookieClient {
  readonly name: string;
  /** Loads a /set URL; resolves once its Set-Cookie headers are stored. */
  set(url: string): Promise<void>;
  probe(request: ProbeRequest): Promise<void>;
  close(): Promise<void>;
}

/** undici reaching every lab host name on 127.0.0.1, trusting the lab's certificate. */
export function labDispatcher(ca: string): Agent {
  const connector = buildConnector({ ca, timeout: timeoutBudgetMs() });
  return new Agent({
    connect(options, callback) {
      connector({ ...options, hostname: '127.0.0.1', servername: options.hostname === 'localhost' ? undefined : options.hostname }, callback);
    },
  });
}

/** The virtual user, as the runner drives it. */
export function virtualUserClient(dispatcher: Dispatcher, make: (d: Dispatcher) => { send: VirtualUser['send'] } = (d) => new VirtualUser(d)): CookieClient {
  const user = make(dispatcher);
  return {
    name: 'virtual user',
    async set(url) {
      const exchange = await user.send({ method: 'GET', url });
      if (exchange.error) throw new Error(`${url}: ${exchange.error}`);
    },
    async probe({ url, from, via = 'link' }) {
      if (via === 'fetch') from = new URL(url).origin;
      const exchange = await user.send({
        method: via === 'form' ? 'POST' : 'GET',
        url,
        from,
        subresource: via === 'img' || via === 'fetch' ? true : undefined,
        body: via === 'form' ? 'x=1' : undefined,
      });
      if (exchange.error) throw new Error(`${url}: ${exchange.error}`);
    },
    async close() {},
  };
}

/** The tab every Chromium client of a browser uses, in one context (a browser profile). */
const tabs = new WeakMap<StartedChromium, Promise<{ context: BrowserContext; tab: Page }>>();

/**
 * A Chromium client with an empty cookie jar: the browser's one context and
 * tab, its cookies cleared. A new context and tab per client would cost
 * Chromium ~0.3 s of CPU each (a renderer process and a profile); what the
 * cases compare is the cookie jar, and a typed navigation (page.goto) is
 * browser-initiated whatever page the tab was on.
 */
export async function chromiumClient(browser: StartedChromium, lab: CookieLab): Promise<CookieClient> {
  let shared = tabs.get(browser);
  if (!shared) {
    shared = (async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      return { context, tab: await context.newPage() };
    })();
    tabs.set(browser, shared);
  }
  const { context, tab } = await shared;
  await context.clearCookies();
  if ((await context.cookies()).length > 0) throw new Error('chromium: cookies left after clearCookies()');
  const seen = (id: number) => lab.probes.has(id);
  return {
    name: 'chromium',
    async set(url) {
      const response = await tab.goto(url, { waitUntil: 'load' });
      if (!response || response.status() !== 200) throw new Error(`${url}: ${response?.status()}`);
    },
    async probe({ url, from, via = 'link' }) {
      const id = Number(new URL(url).searchParams.get('id'));
      if (via === 'fetch') {
        // From the page the tab is on, which must be of the same origin: a request that is no navigation.
        if (new URL(tab.url()).origin !== new URL(url).origin) throw new Error(`chromium: a fetch of ${url} from ${tab.url()} is not same-origin`);
        await tab.evaluate((target) => fetch(target, { credentials: 'include' }).then((r) => r.text()), url);
      } else if (!from) {
        await tab.goto(url, { waitUntil: 'load' });
      } else {
        const target = via === 'img' ? `${url}&img=1` : url;
        await tab.goto(`${from}/page?${via}=${encodeURIComponent(target)}`, { waitUntil: 'load' });
        // A person's click (trusted) where the link or button lies: page.click()'s actionability checks
        // load Playwright's selector engine into each new document, ~0.2 s more of Chromium's CPU a click.
        if (via === 'link' || via === 'form') await Promise.all([tab.waitForURL((u) => u.pathname.startsWith('/probe')), tab.mouse.click(1, 1)]);
      }
      // The image request may land after the page's load event; poll for it.
      await pollUntil(async () => (seen(id) ? true : undefined), { what: `chromium's request for ${url}` });
    },
    async close() {
      await context.clearCookies();
    },
  };
}

export { launchChromium };
