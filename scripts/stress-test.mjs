#!/usr/bin/env node
/**
 * npm run stress-test -- --runs N --parallel P --busy B
 *
 * Runs the whole test suite N times; each run starts P suites at once, each
 * in its own copy of the built tree (so they share no output), while B busy
 * loops keep the CPUs loaded, as a shared CI runner is. Prints, per suite,
 * passed or failed with the names of the failing tests, then the counts.
 * A failed suite's kept histories (the runs its failing verdict tests wrote,
 * test/helpers/keep-history.ts) and its vitest report are moved out of its
 * copy to test-results/stress-<time>/run-R-suite-S/, and the output names
 * the folder, so a failure under load can be judged from what the run
 * recorded. Everything else it starts (suites, busy loops, copies) is
 * stopped and removed when it ends, fails or is interrupted. Exit 0 when
 * every suite was green.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs, stripVTControlCharacters } from 'node:util';

const ROOT = join(import.meta.dirname, '..');
const COPY = ['dist', 'harness', 'servers', 'test', 'scenarios', 'docker', 'docs', 'scripts', 'package.json', 'tsconfig.json', 'vitest.config.ts'];

function count(name, value, min, max) {
  const n = Number(value);
  if (!/^\d+$/.test(String(value)) || n < min || n > max) {
    process.stderr.write(`stress-test: --${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}

let options;
try {
  ({ values: options } = parseArgs({
    options: { runs: { type: 'string', default: '1' }, parallel: { type: 'string', default: '1' }, busy: { type: 'string', default: '0' } },
  }));
} catch (error) {
  process.stderr.write(`stress-test: ${error.message}\n`);
  process.exit(2);
}
const runs = count('runs', options.runs, 1, 100);
const parallel = count('parallel', options.parallel, 1, 16);
const busy = count('busy', options.busy, 0, 64);
if (!existsSync(join(ROOT, 'dist', 'servers', 'bundle'))) {
  process.stderr.write('stress-test: no build in dist/: run "npm run build" (npm ci does it) first\n');
  process.exit(3);
}

/** Every child we start, killed as a process group when we stop. */
const children = new Set();
const copies = [];
function start(command, args, opts) {
  const child = spawn(command, args, { ...opts, detached: true });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
function cleanup() {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    process.stderr.write(`\nstress-test: ${signal}, stopping everything it started\n`);
    process.exit(130);
  });
}

/** A copy of the built tree with its own dist/ and reports; node_modules is shared read-only. */
function makeCopy(index) {
  const dir = mkdtempSync(join(tmpdir(), `slab-stress-${index}-`));
  copies.push(dir);
  for (const entry of COPY) if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** The first lines of a failed test's message (the assertion and its values), so a failure under load can be read without re-running it. */
function why(test) {
  const message = stripVTControlCharacters(String(test.failureMessages?.[0] ?? ''))
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  // The assertion and its values, then where in the test file it failed.
  const where = message.find((line) => line.startsWith('at ') && line.includes('.test.ts'));
  const text = [...message.filter((line) => !line.startsWith('at ')).slice(0, 4), ...(where ? [where] : [])].join(' | ');
  return text ? `\n      ${text.slice(0, 600)}` : '';
}

/** Where failed suites' histories and reports are kept (git-ignored), one folder per stress run. */
const KEPT = join(ROOT, 'test-results', `stress-${new Date().toISOString().replace(/[:.]/g, '-')}`);

/**
 * A failed suite's histories and report, moved (copied, then removed from the copy, so the next
 * run of that copy starts without them) to KEPT/run-R-suite-S; returns what to print.
 */
function keepFailed(dir, label, histories, report) {
  const where = join(KEPT, `run-${label.replace('-', '-suite-')}`);
  mkdirSync(where, { recursive: true });
  const files = existsSync(histories) ? readdirSync(histories) : [];
  if (files.length) cpSync(histories, join(where, 'histories'), { recursive: true });
  if (existsSync(report)) cpSync(report, join(where, 'vitest-report.json'));
  const kept = files.length ? `${files.length} histor${files.length === 1 ? 'y' : 'ies'} and the vitest report` : 'the vitest report (no failing test kept a history)';
  return `${kept} kept in ${relative(process.cwd(), where) || where}`;
}

/** One suite in its copy: resolves to { passed, total, failed: [names], code, kept }. */
function suite(dir, label) {
  const report = join(dir, `report-${label}.json`);
  // Each suite's own: a failing verdict test writes its run here (keep-history.ts), whatever the caller's environment says.
  const histories = join(dir, 'test-results', `histories-${label}`);
  rmSync(report, { force: true });
  const child = start(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=json', `--outputFile=${report}`], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SLAB_FAILED_HISTORIES: histories },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const settled = new Promise((resolve) => {
    child.on('close', (code) => {
      try {
        const json = JSON.parse(readFileSync(report, 'utf8'));
        const failed = [];
        for (const file of json.testResults ?? []) {
          const name = file.name.slice(dir.length + 1);
          if (file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed')) failed.push(`${name}: ${file.message ?? 'failed to run'}`);
          for (const test of file.assertionResults ?? []) if (test.status === 'failed') failed.push(`${name} > ${test.fullName}${why(test)}`);
        }
        resolve({ code, total: json.numTotalTests, passedTests: json.numPassedTests, failed, passed: code === 0 && failed.length === 0 });
      } catch {
        resolve({ code, total: 0, passedTests: 0, failed: [`(no report; exit ${code}) ${stderr.trim().split('\n').slice(-3).join(' | ')}`], passed: false });
      }
    });
  });
  return settled.then((result) => {
    const kept = result.passed ? undefined : keepFailed(dir, label, histories, report);
    rmSync(histories, { recursive: true, force: true });
    return { ...result, kept };
  });
}

const loops = Array.from({ length: busy }, () => start(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
process.stdout.write(`stress-test: ${runs} run${runs > 1 ? 's' : ''} × ${parallel} suite${parallel > 1 ? 's' : ''} at once, ${loops.length} busy loop${loops.length === 1 ? '' : 's'}\n`);
const dirs = Array.from({ length: parallel }, (_, i) => makeCopy(i + 1));
const results = [];
const started = Date.now();
for (let run = 1; run <= runs; run++) {
  const round = await Promise.all(dirs.map((dir, i) => suite(dir, `${run}-${i + 1}`)));
  round.forEach((result, i) => {
    results.push(result);
    const load = (readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?').trim();
    process.stdout.write(`run ${run} suite ${i + 1}: ${result.passed ? 'passed' : 'FAILED'} (${result.passedTests}/${result.total} tests, load ${load})\n`);
    for (const name of result.failed) process.stdout.write(`  failed: ${name}\n`);
    if (result.kept) process.stdout.write(`  ${result.kept}\n`);
  });
}
const green = results.filter((r) => r.passed).length;
const byTest = new Map();
for (const name of results.flatMap((r) => r.failed.map((failure) => failure.split('\n')[0]))) byTest.set(name, (byTest.get(name) ?? 0) + 1);
process.stdout.write(`\nsuites passed ${green}/${results.length}, failed ${results.length - green} (${Math.round((Date.now() - started) / 1000)} s)\n`);
for (const [name, times] of [...byTest].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${times}× ${name}\n`);
// Exit now: the busy loops would keep this process (and themselves) alive forever; exit runs cleanup().
process.exit(green === results.length ? 0 : 1);
