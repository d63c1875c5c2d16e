/**
 * `--junit FILE`: the run as JUnit XML, the shape common CI reads
 * (Jenkins, GitLab, GitHub test reporters): one <testsuite> per scenario
 * run, one <testcase> per user × pass; a pass with a failed expectation
 * gets a <failure> whose message is its verdict(s) and their evidence.
 */
import type { ExpectationFailure } from '../runner/tally.js';
import type { RunResult } from '../runner/run.js';
import type { Verdict } from '../diagnosis/diagnose.js';
import { evidenceText } from './sequence-diagram.js';

/** Test cases written at most; a larger run is summarised in one more case. */
const MAX_CASES = 100_000;

const xml = (text: unknown) =>
  String(text)
    // XML 1.0 cannot carry most control characters, even escaped.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

export function verdictLine(v: Verdict): string {
  return `step ${v.step} ${v.request}: session reset — cause: ${v.cause}${v.expected ? ' (expected)' : ''} — ${evidenceText(v)}`;
}

export function renderJunit(result: RunResult): string {
  const suite = `${result.scenario}${result.fixed ? ' --fixed' : ''} [${result.store} + ${result.balancer}${result.faults.length ? ` + ${result.faults.join(' ')}` : ''}, ${result.servers} servers]`;
  const key = (v: { user: number; run: number }) => `${v.user}/${v.run}`;
  const failuresOf = new Map<string, ExpectationFailure[]>();
  const run: ExpectationFailure[] = [];
  for (const f of result.failures) {
    if (f.user === 0) run.push(f);
    else failuresOf.set(key(f), [...(failuresOf.get(key(f)) ?? []), f]);
  }
  const resetsOf = new Map<string, Verdict[]>();
  for (const v of result.resets) resetsOf.set(key(v), [...(resetsOf.get(key(v)) ?? []), v]);
  const seconds = new Map<string, number>();
  for (const r of result.records) seconds.set(key(r), (seconds.get(key(r)) ?? 0) + r.durationMs / 1000);

  const cases: string[] = [];
  let failed = 0;
  const passes = Math.min(result.users * result.repeat, MAX_CASES);
  for (let i = 0; i < passes; i++) {
    const user = (i % result.users) + 1;
    const pass = Math.floor(i / result.users) + 1;
    const k = `${user}/${pass}`;
    const name = `user ${user}, pass ${pass}`;
    const time = (seconds.get(k) ?? 0).toFixed(3);
    const failures = failuresOf.get(k) ?? [];
    if (failures.length === 0) {
      cases.push(`    <testcase classname="${xml(result.scenario)}" name="${xml(name)}" time="${time}"/>`);
      continue;
    }
    failed++;
    const verdicts = (resetsOf.get(k) ?? []).filter((v) => failures.some((f) => f.step === v.step));
    const message = verdicts.length ? verdicts.map(verdictLine).join(' | ') : failures.map((f) => `step ${f.step} ${f.request}: ${f.message}`).join(' | ');
    const body = [...verdicts.map(verdictLine), ...failures.map((f) => `step ${f.step} ${f.request}: ${f.message}`)].join('\n');
    cases.push(
      `    <testcase classname="${xml(result.scenario)}" name="${xml(name)}" time="${time}">\n` +
        `      <failure message="${xml(message)}" type="${xml(verdicts[0]?.cause ?? 'expectation')}">${xml(body)}</failure>\n` +
        `    </testcase>`,
    );
  }
  if (run.length || result.users * result.repeat > MAX_CASES || (!result.passed && failed === 0)) {
    // Failures of the run as a whole (a fault that could not act, an interrupted run), and passes beyond the cap.
    const messages = run.map((f) => f.message);
    if (result.users * result.repeat > MAX_CASES) messages.push(`${result.users * result.repeat - MAX_CASES} more passes not listed; ${result.failuresTotal} failed expectations in all`);
    if (!result.passed && failed === 0 && run.length === 0) messages.push('the run did not complete');
    const bad = !result.passed && (run.length > 0 || failed === 0);
    if (bad) failed++;
    cases.push(
      bad
        ? `    <testcase classname="${xml(result.scenario)}" name="run"><failure message="${xml(messages.join(' | '))}" type="run">${xml(messages.join('\n'))}</failure></testcase>`
        : `    <testcase classname="${xml(result.scenario)}" name="run"><system-out>${xml(messages.join('\n'))}</system-out></testcase>`,
    );
  }
  const { seed } = result;
  const props = [
    ['store', result.store],
    ['balancer', result.balancer],
    ['servers', result.servers],
    ['faults', result.faults.join(' ')],
    ['requests', result.requests],
    ['resets', result.resetsTotal],
    ...(seed === undefined ? [] : [['seed', seed]]),
  ];
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="session-lab" tests="${cases.length}" failures="${failed}" errors="0" time="${(result.durationMs / 1000).toFixed(3)}">\n` +
    `  <testsuite name="${xml(suite)}" tests="${cases.length}" failures="${failed}" errors="0" skipped="0" time="${(result.durationMs / 1000).toFixed(3)}" timestamp="${new Date(Date.now() - result.durationMs).toISOString().slice(0, 19)}">\n` +
    `    <properties>\n${props.map(([n, v]) => `      <property name="${xml(n)}" value="${xml(v)}"/>`).join('\n')}\n    </properties>\n` +
    `${cases.join('\n')}\n` +
    `  </testsuite>\n</testsuites>\n`
  );
}
