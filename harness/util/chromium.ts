/**
 * Debian's headless Chromium, driven by playwright-core: the real cookie
 * engine the jar is checked against (test/integration/chromium-jar.test.ts)
 * and the engine behind `--client chromium`.
 *
 * Site names (shop.example.test, partner.test) resolve to 127.0.0.1 through
 * `--host-resolver-rules`, optionally with a port, so `http://shop.example.test/`
 * reaches a balancer listening on 127.0.0.1:41234 — no DNS, no /etc/hosts,
 * and the cookie rules of a remote site, not the relaxed ones of localhost.
 * Nothing leaves loopback: background networking, component updates and
 * HTTPS upgrades are off.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, BrowserContextOptions } from 'playwright-core';
import { HarnessError } from '../errors.js';
import { timeoutBudgetMs } from './budget.js';

/** Where Debian's `chromium` package puts the browser; SLAB_CHROMIUM overrides it. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  // No --disable-features here: Chromium keeps only the last one given, and
  // one of ours replaced playwright-core's whole list. That list (pinned
  // version) already keeps http:// navigations on http (HttpsUpgrades,
  // HttpsFirstBalancedModeAutoEnable: the tool checks what a browser does with
  // the http link it was given) and turns off the start-up queries to Google
  // a headless run has no use for (NetworkTimeServiceQuerying,
  // PreconnectToSearch, AimEnabled, OptimizationHints): with ours last, they
  // were on again.
];

/** One name the browser resolves to 127.0.0.1; with `port`, requests to that port go to `to` instead. */
export interface HostMapping {
  host: string;
  port?: number;
  to?: number;
}

export interface ChromiumOptions {
  hosts?: readonly HostMapping[];
  executablePath?: string;
}

export interface StartedChromium {
  readonly browser: Browser;
  readonly version: string;
  /** A fresh browser profile: its own cookie jar, like a new browser. */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const HOST = /^[a-z0-9*]([a-z0-9.*-]*[a-z0-9])?$/;

/** The `--host-resolver-rules` value for `hosts`: port mappings first, then whole names. */
export function hostResolverRules(hosts: readonly HostMapping[]): string {
  const rules: string[] = [];
  for (const { host, port, to } of hosts) {
    if (!HOST.test(host)) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `chromium host ${JSON.stringify(host)}: expected a lower-case DNS name`);
    rules.push(port !== undefined && to !== undefined ? `MAP ${host}:${port} 127.0.0.1:${to}` : `MAP ${host} 127.0.0.1`);
  }
  rules.sort((a, b) => Number(/:\d+ /.test(b)) - Number(/:\d+ /.test(a)));
  return rules.join(', ');
}

export async function launchChromium(options: ChromiumOptions = {}): Promise<StartedChromium> {
  const executablePath = options.executablePath ?? process.env.SLAB_CHROMIUM ?? DEFAULT_CHROMIUM_PATH;
  if (!existsSync(executablePath)) {
    throw new HarnessError(
      'SLAB_ERR_CHROMIUM_UNAVAILABLE',
      `chromium: no browser at ${executablePath}; expected Debian's chromium package (apt-get install chromium) or SLAB_CHROMIUM=/path/to/chromium`,
    );
  }
  const args = [...CHROMIUM_FLAGS];
  if (options.hosts?.length) args.push(`--host-resolver-rules=${hostResolverRules(options.hosts)}`);
  let browser: Browser;
  try {
    // Loaded here, not at the top: playwright-core is the heaviest import of
    // the tree (over a second of CPU), and only runs with a browser need it —
    // every other command, and every test file, would pay for it at start.
    // With require(), not import(): it is CommonJS, and import() runs the
    // ESM loader over each of its modules (~0.3 s more CPU, measured).
    const { chromium } = createRequire(import.meta.url)('playwright-core') as typeof import('playwright-core');
    // playwright-core kills the browser when this process exits (its own exit hooks).
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args,
      handleSIGINT: false,
      timeout: timeoutBudgetMs(),
      handleSIGTERM: false,
    });
  } catch (error) {
    throw new HarnessError('SLAB_ERR_CHROMIUM_UNAVAILABLE', `chromium: ${executablePath} did not start: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= browser.close().catch(() => undefined));
  return {
    browser,
    version: browser.version(),
    newContext: (contextOptions) => browser.newContext(contextOptions),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
