#!/usr/bin/env node
/**
 * npm run check-package — the package as another project gets it:
 *
 *   npm pack ──▶ the tarball's files (no test/, no bench, nothing unbuilt)
 *            ──▶ a fresh npm project in a temp dir installs it, WITHOUT the
 *                network (npm ci --offline, from the npm cache that this
 *                repository's `npm ci` filled), with vitest
 *            ──▶ vitest runs the README's library example there: login-browse
 *                resets with replication, secure-cookie-http-link (through
 *                runScenarioOnNewCluster) with transmission; the CLI answers.
 *
 * A script, not a vitest test: the offline install alone takes minutes on a
 * busy machine, beyond what a test's budget-derived timeout allows; .ci/run
 * runs it after npm test. Exit 0 all held, 1 an expectation failed, 3 the
 * environment is missing (a package not in the npm cache: run npm ci).
 * The temp dir and every process it starts are gone when it ends, fails or
 * is interrupted.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const { timeoutBudgetMs } = await import(join(ROOT, 'dist', 'harness', 'util', 'budget.js'));

/** What users need; anything else in the tarball is a mistake. */
const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE(\.\w+)?$/,
  /^dist\/harness\/.+\.(js|d\.ts)$/,
  /^dist\/harness\/cli\/bundle\/[^/]+\.js\.map$/,
  /^dist\/servers\/.+\.(js|d\.ts)$/,
  /^scenarios\/[^/]+\.(ya?ml|json)$/,
  /^docker\/(nginx|haproxy)\/.+$/,
];
const FORBIDDEN = [/^test\//, /^dist\/test\//, /(^|\/)bench\//, /^harness\//, /^servers\//, /^node_modules\//];
const REQUIRED = [
  'dist/harness/index.js',
  'dist/harness/index.d.ts',
  'dist/harness/testing/vitest.js',
  'dist/harness/testing/vitest.d.ts',
  'dist/harness/cli/bundle/main.js',
  'dist/servers/bundle/app.js',
  'scenarios/login-browse.yaml',
  'scenarios/secure-cookie-http-link.yaml',
];

/** The README's example ("As a library"), in plain JS as a Node 20 project writes it: no `await using`. */
const CONSUMER_TEST = `import { expect, test } from 'vitest';
import 'session-lab/vitest';
import { loadScenario, runScenarioOnNewCluster } from 'session-lab';

test('memory sessions behind round-robin log users out: replication', async () => {
  expect(await runScenarioOnNewCluster(loadScenario('login-browse'), { users: 4 })).toResetWith('replication');
});

test('a partner http:// link to an https site with Secure cookies: transmission', async () => {
  const result = await runScenarioOnNewCluster(loadScenario('secure-cookie-http-link'));
  expect(result).toResetWith('transmission');
  expect(result.passed).toBe(true);
});
`;

const dir = mkdtempSync(join(tmpdir(), 'slab-package-'));
const children = new Set();
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    process.stderr.write(`check-package: ${signal}, removing ${dir}\n`);
    cleanup();
    process.exit(130);
  });
}

/**
 * The consumer's package.json and its lockfile. Offline, npm can only
 * install what a lockfile pins: `npm install --offline <tarball>` resolves
 * versions from full registry documents, which a fresh machine's cache does
 * not hold (npm ci fetches only the install documents and the tarballs it
 * needs), so it fails there with ENOTCACHED. The lockfile pins the tarball
 * (by its integrity) and takes every other version from this repository's
 * package-lock.json — the packages npm ci just put in the cache; npm ci
 * leaves out the ones the consumer does not need.
 */
function writeConsumer(project, info) {
  const tarball = `file:../${info.filename}`;
  const dependencies = { 'session-lab': tarball, vitest: pkg.devDependencies.vitest };
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }, null, 2)}\n`);
  const repoLock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const packages = { '': { name: 'consumer', dependencies } };
  for (const [path, entry] of Object.entries(repoLock.packages)) {
    if (!path.startsWith('node_modules/')) continue;
    // Whether a package is dev-only here says nothing about the consumer: npm works that out again.
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...rest } = entry;
    packages[path] = rest;
  }
  packages['node_modules/session-lab'] = {
    version: pkg.version,
    resolved: tarball,
    integrity: info.integrity,
    license: pkg.license,
    dependencies: pkg.dependencies,
    peerDependencies: pkg.peerDependencies,
    peerDependenciesMeta: pkg.peerDependenciesMeta,
    bin: pkg.bin,
    engines: pkg.engines,
  };
  writeFileSync(join(project, 'package-lock.json'), `${JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 2)}\n`);
}

class Failed extends Error {
  constructor(message, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Runs a command in its own process group (so an interruption takes its children too); output kept and echoed. */
function run(command, args, { cwd, echo = true } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false', NO_COLOR: '1' } });
    children.add(child);
    let output = '';
    const take = (stream, to) =>
      child[stream].setEncoding('utf8').on('data', (chunk) => {
        output += chunk;
        if (echo) to.write(chunk);
      });
    take('stdout', process.stdout);
    take('stderr', process.stderr);
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, output });
    });
  });
}

function step(text) {
  process.stdout.write(`\ncheck-package: ${text}\n`);
}

async function main() {
  step(`npm pack into ${dir}`);
  // Built already (npm run check-package builds first): no prepare run again.
  const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, echo: false });
  if (packed.code !== 0) throw new Failed(`npm pack failed (exit ${packed.code}):\n${packed.output}`);
  const [info] = JSON.parse(packed.output.slice(packed.output.indexOf('[')));
  const files = info.files.map((f) => f.path);
  const stray = files.filter((file) => FORBIDDEN.some((re) => re.test(file)) || !ALLOWED.some((re) => re.test(file)));
  const missing = REQUIRED.filter((file) => !files.includes(file));
  process.stdout.write(`${info.filename}: ${files.length} files, ${info.size} bytes packed\n`);
  if (stray.length) throw new Failed(`the tarball ships what users do not need: ${stray.slice(0, 20).join(', ')}${stray.length > 20 ? ` … (${stray.length})` : ''}`);
  if (missing.length) throw new Failed(`the tarball lacks ${missing.join(', ')}`);
  process.stdout.write('files: only dist/ (no bench), scenarios/, docker/ configs, README, package.json\n');

  const project = join(dir, 'consumer');
  step(`a fresh project (${project}) installs the tarball and vitest ${pkg.devDependencies.vitest}, offline`);
  await run('mkdir', ['-p', project]);
  writeConsumer(project, info);
  const installed = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel', 'error'], { cwd: project });
  if (installed.code !== 0) {
    if (/ENOTCACHED/.test(installed.output)) {
      throw new Failed('npm ci --offline: a package is not in the npm cache; run `npm ci` in this repository first (it fills the cache)', 3);
    }
    throw new Failed(`npm ci --offline failed (exit ${installed.code})`);
  }

  step('the CLI from the installed package');
  const cli = await run(join(project, 'node_modules', '.bin', 'session-lab'), ['scenarios'], { cwd: project, echo: false });
  if (cli.code !== 0 || !cli.output.includes('login-browse')) throw new Failed(`session-lab scenarios: exit ${cli.code}, expected the scenario list:\n${cli.output}`);
  process.stdout.write('session-lab scenarios: lists login-browse\n');

  step("vitest runs the README's example against the installed package");
  writeFileSync(join(project, 'sessions.test.js'), CONSUMER_TEST);
  // Each test starts a cluster and runs a scenario: a few budgets, as the repository's own tests get.
  const timeout = String(4 * timeoutBudgetMs());
  const tested = await run(join(project, 'node_modules', '.bin', 'vitest'), ['run', '--testTimeout', timeout, '--hookTimeout', timeout], { cwd: project });
  if (tested.code !== 0) throw new Failed(`vitest in the fresh project failed (exit ${tested.code})`);
  if (!/Tests\s+.*2 passed/.test(tested.output)) throw new Failed('vitest in the fresh project: expected 2 passed tests');
}

let code = 0;
try {
  await main();
  step('passed: the packed tarball installs offline and works as the README says');
} catch (error) {
  code = error instanceof Failed ? error.exitCode : 1;
  process.stderr.write(`check-package: ${error instanceof Failed ? error.message : (error.stack ?? error)}\n`);
} finally {
  cleanup();
}
process.exit(code);
