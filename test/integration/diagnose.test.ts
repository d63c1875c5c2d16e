/** `session-lab diagnose FILE`: a --history file re-diagnosed gives the run's own verdicts. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'slab-diagnose-'));

test.concurrent('diagnose run.jsonl prints the same verdicts, failures and counts as the run that wrote it', async () => {
  const file = join(dir, 'run.jsonl');
  // A backend killed mid-run: the evidence names the event and its time since the run started.
  const run = await runCli(['run', 'login-browse', '--users', '5', '--servers', '2', '--json', '--history', file, '--fault', 'kill-backend=app-2,after=8']);
  expect(run.code).toBe(1);
  const ran = JSON.parse(run.stdout);
  expect(ran.resetsTotal).toBeGreaterThan(0);

  const [again, text] = await Promise.all([runCli(['diagnose', file, '--json']), runCli(['diagnose', file])]);
  expect(again.stderr).toBe('');
  expect(again.code).toBe(1);
  const diagnosed = JSON.parse(again.stdout);
  expect(diagnosed.resets).toEqual(ran.resets);
  expect(diagnosed.failures).toEqual(ran.failures);
  for (const field of [
    'scenario',
    'store',
    'balancer',
    'faults',
    'servers',
    'users',
    'requests',
    'errors',
    'resetsTotal',
    'resetsByCause',
    'anomalies',
    'requestsPerBackend',
    'events',
    'seed',
    'passed',
  ]) {
    expect(diagnosed[field], field).toEqual(ran[field]);
  }

  expect(text.stdout).toContain('session reset — cause: replication');
});

test.concurrent('a file that is not a --history file: exit 2 naming the file and line', async () => {
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"type":"topology","backends":["app-1"],"cookieName":"sid"}\nnot json\n');
  const [result, missing] = await Promise.all([runCli(['diagnose', bad]), runCli(['diagnose', join(dir, 'missing.jsonl')])]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`SLAB_ERR_HISTORY_INVALID: ${bad}: line 2: not JSON`);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('SLAB_ERR_HISTORY_INVALID');
});
