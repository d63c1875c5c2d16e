/**
 * Every bad input is refused in one line: exit 2 (3 for a missing
 * environment), `session-lab: SLAB_ERR_…: …` naming the file, field or flag,
 * no stack trace, a bounded amount of output, and nothing left running.
 * The table holds the cases a fuzzing pass found misbehaving.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { waitForNoMarked } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'slab-bad-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, content: string | object): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}
const scenario = (steps: unknown[], extra: object = {}) => ({ name: 'bad', description: 'd', ...extra, steps });
const land = { method: 'GET', path: '/' };

/** As text: the object itself would overflow JSON.stringify. */
function nestedTogether(depth: number): string {
  const step = JSON.stringify(land);
  return `{"name":"deep","description":"d","steps":[${'{"together":['.repeat(depth)}${step}${`,${step}]}`.repeat(depth)}]}`;
}
function billionLaughs(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  return `${lines.join('\n')}\nname: bomb\ndescription: d\nsteps: *i\n`;
}

const fifo = join(dir, 'fifo.yaml');
execFileSync('mkfifo', [fifo]);
const device = join(dir, 'device.yaml');
symlinkSync('/dev/zero', device);
mkdirSync(join(dir, 'a-directory'));

interface Case {
  what: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  exit?: number;
  code: string;
  /** Words the one line must contain. */
  says: (string | RegExp)[];
}

const CASES: Case[] = [
  // scenario files: size and depth before parsing
  { what: '3000-deep together nesting', args: ['run', file('deep.json', nestedTogether(3000))], code: 'SLAB_ERR_SCENARIO_INVALID', says: ['deep.json', 'levels deep'] },
  {
    what: '3000-deep YAML flow map',
    args: ['run', file('deep-flow.yaml', `${'{a: '.repeat(3000)}1${'}'.repeat(3000)}\n`)],
    code: 'SLAB_ERR_SCENARIO_INVALID',
    says: ['deep-flow.yaml', 'levels deep'],
  },
  {
    what: '500-deep YAML block map',
    args: ['run', file('deep-block.yaml', Array.from({ length: 500 }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n')],
    code: 'SLAB_ERR_SCENARIO_INVALID',
    says: ['deep-block.yaml', 'levels deep'],
  },
  { what: 'a YAML alias bomb', args: ['run', file('bomb.yaml', billionLaughs())], code: 'SLAB_ERR_SCENARIO_INVALID', says: ['bomb.yaml', 'alias'] },
  { what: 'a 2 MB file', args: ['run', file('huge.yaml', `name: ${'x'.repeat(2 * 1024 * 1024)}\n`)], code: 'SLAB_ERR_SCENARIO_INVALID', says: ['huge.yaml', 'at most 1048576'] },
  {
    what: 'a 500 kB name, cut in the message',
    args: ['run', file('long-name.json', scenario([land], { name: 'X'.repeat(500_000) }))],
    code: 'SLAB_ERR_SCENARIO_INVALID',
    says: ['name:', '(500002 chars)'],
  },
  {
    what: '50 000 invalid steps: the first few, and a count',
    args: ['run', file('many.json', scenario(Array.from({ length: 50_000 }, () => ({ method: 'FETCH' }))))],
    code: 'SLAB_ERR_SCENARIO_INVALID',
    says: ['steps[0].method', /and \d{5,} more problems$/],
  },
  { what: 'a FIFO as scenario file', args: ['run', fifo], code: 'SLAB_ERR_SCENARIO_INVALID', says: ['fifo.yaml', 'not a regular file'] },
  { what: 'a device as scenario file', args: ['run', device], code: 'SLAB_ERR_SCENARIO_INVALID', says: ['device.yaml', 'not a regular file'] },
  { what: 'a directory as scenario file', args: ['run', join(dir, 'a-directory')], code: 'SLAB_ERR_SCENARIO_INVALID', says: ['a .yaml, .yml or .json file'] },
  { what: 'a .txt file', args: ['run', file('notes.txt', 'name: x\n')], code: 'SLAB_ERR_SCENARIO_INVALID', says: ['notes.txt', 'expected a .yaml, .yml or .json file, got ".txt"'] },
  { what: 'a name outside scenarios/', args: ['run', '../package'], code: 'SLAB_ERR_SCENARIO_NOT_FOUND', says: ['"../package": no such file'] },
  { what: 'an empty scenario name', args: ['run', ''], code: 'SLAB_ERR_SCENARIO_NOT_FOUND', says: ['expected a name or a file'] },
  // steps the client could never send as written
  {
    what: 'a header name with a space',
    args: ['run', file('h1.json', scenario([{ ...land, headers: { 'X Bad': '1' } }]))],
    code: 'SLAB_ERR_SCENARIO_INVALID',
    says: ['steps[0].headers', 'header name'],
  },
  {
    what: 'a CRLF in a header value',
    args: ['run', file('h2.json', scenario([{ ...land, headers: { 'X-Ok': 'a\r\nX-Evil: 1' } }]))],
    code: 'SLAB_ERR_SCENARIO_INVALID',
    says: ['steps[0].headers.X-Ok', 'control characters'],
  },
  {
    what: 'a Content-Length header',
    args: ['run', file('h3.json', scenario([{ ...land, headers: { 'Content-Length': '5' } }]))],
    code: 'SLAB_ERR_SCENARIO_INVALID',
    says: ['steps[0].headers', 'does not set itself'],
  },
  { what: 'a first step with follow', args: ['run', file('f.json', scenario([{ method: 'GET', follow: 'url' }]))], code: 'SLAB_ERR_SCENARIO_INVALID', says: ['steps[0].follow', 'first request'] },
  {
    what: 'an unknown template in a path',
    args: ['run', file('t1.json', scenario([{ method: 'GET', path: '/{{nope}}' }]))],
    code: 'SLAB_ERR_SCENARIO_INVALID',
    says: ['steps[0].path', 'unknown template {{nope}}'],
  },
  {
    what: 'an unknown template in json',
    args: ['run', file('t2.json', scenario([{ method: 'POST', path: '/', json: { a: '{{users}}' } }]))],
    code: 'SLAB_ERR_SCENARIO_INVALID',
    says: ['steps[0].json', '{{users}}'],
  },
  {
    what: 'body and json together',
    args: ['run', file('b.json', scenario([{ method: 'POST', path: '/', body: 'x', json: { a: 1 } }]))],
    code: 'SLAB_ERR_SCENARIO_INVALID',
    says: ['steps[0].body', 'not both'],
  },
  // --history
  {
    what: '--history in a missing directory',
    args: ['run', 'login-browse', '--history', join(dir, 'no', 'such', 'h.jsonl')],
    code: 'SLAB_ERR_OPTION_INVALID',
    says: ['--history', 'directory does not exist'],
  },
  { what: '--history to a directory', args: ['run', 'login-browse', '--history', dir], code: 'SLAB_ERR_OPTION_INVALID', says: ['--history', 'is a directory'] },
  { what: '--history to /proc/version', args: ['run', 'login-browse', '--history', '/proc/version'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--history', '/proc'] },
  { what: "--history ''", args: ['run', 'login-browse', '--history', ''], code: 'SLAB_ERR_OPTION_INVALID', says: ['--history', 'expected a file path'] },
  { what: '--history to a FIFO', args: ['run', 'login-browse', '--history', fifo], code: 'SLAB_ERR_OPTION_INVALID', says: ['--history', 'not a FIFO'] },
  // flags: range, form, repetition, conflicts
  { what: '--servers -1', args: ['run', 'login-browse', '--servers', '-1'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--servers'] },
  { what: '--servers 0', args: ['run', 'login-browse', '--servers', '0'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--servers: expected an integer from 1 to 64, got "0"'] },
  { what: '--users 1.5', args: ['run', 'login-browse', '--users', '1.5'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--users'] },
  { what: '--users twice', args: ['run', 'login-browse', '--users', '3', '--users', '4'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--users: given more than once'] },
  { what: '--duration with --requests', args: ['run', 'login-browse', '--duration', '2m', '--requests', '10'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--duration and --requests'] },
  { what: '--duration 0', args: ['run', 'login-browse', '--duration', '0'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--duration'] },
  { what: '--store mongo', args: ['run', 'login-browse', '--store', 'mongo'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--store', 'got "mongo"'] },
  { what: 'an unknown flag', args: ['run', 'login-browse', '--nope'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--nope'] },
  { what: 'a long unknown command, cut', args: ['x'.repeat(100_000)], code: 'SLAB_ERR_OPTION_INVALID', says: ['unknown command', '…'] },
  { what: 'an unknown fault', args: ['run', 'login-browse', '--fault', 'drop-everything'], code: 'SLAB_ERR_OPTION_INVALID', says: ['unknown fault'] },
  { what: 'two scenarios', args: ['run', 'login-browse', 'checkout'], code: 'SLAB_ERR_OPTION_INVALID', says: ['expected one scenario'] },
  { what: '--budget abc', args: ['run', 'login-browse', '--budget', 'abc'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--budget'] },
  { what: 'SLAB_BUDGET_MS=abc', args: ['run', 'login-browse', '--store', 'redis'], env: { SLAB_BUDGET_MS: 'abc' }, code: 'SLAB_ERR_OPTION_INVALID', says: ['SLAB_BUDGET_MS'] },
  { what: '--seed -1', args: ['run', 'login-browse', '--seed', '-1'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--seed'] },
  { what: '--seed 2^32', args: ['run', 'login-browse', '--seed', '4294967296'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--seed: expected an integer from 0 to 4294967295, got "4294967296"'] },
  { what: '--seed behind nginx', args: ['run', 'login-browse', '--seed', '7', '--balancer', 'nginx'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--seed: nginx chooses backends itself'] },
  { what: '--seed with --target', args: ['run', 'login-browse', '--seed', '7', '--target', 'http://127.0.0.1:1'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--seed: not with --target'] },
  { what: 'compare --seed abc', args: ['compare', '--scenario', 'login-browse', '--seed', 'abc'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--seed', 'got "abc"'] },
  { what: 'compare --users twice', args: ['compare', '--scenario', 'login-browse', '--users', '1', '--users', '2'], code: 'SLAB_ERR_OPTION_INVALID', says: ['--users: given more than once'] },
  // environment
  { what: 'an unparsable REDIS_URL', args: ['run', 'login-browse', '--store', 'redis'], env: { REDIS_URL: 'redis://[::1' }, code: 'SLAB_ERR_OPTION_INVALID', says: ['REDIS_URL', 'redis://'] },
  {
    what: 'a REDIS_URL of another scheme',
    args: ['run', 'login-browse', '--store', 'redis'],
    env: { REDIS_URL: 'http://user:secret@127.0.0.1:1' },
    code: 'SLAB_ERR_OPTION_INVALID',
    says: ['REDIS_URL', '***'],
  },
  {
    what: 'compare with an unparsable REDIS_URL, before any row runs',
    args: ['compare', '--scenario', 'login-browse', '--stores', 'memory,redis'],
    env: { REDIS_URL: 'redis://[::1' },
    code: 'SLAB_ERR_OPTION_INVALID',
    says: ['REDIS_URL', 'redis://'],
  },
  {
    what: 'a REDIS_URL nothing answers on: missing environment',
    args: ['run', 'login-browse', '--store', 'redis'],
    env: { REDIS_URL: 'redis://127.0.0.1:1' },
    exit: 3,
    code: 'SLAB_ERR_REDIS_UNAVAILABLE',
    says: ['REDIS_URL'],
  },
];

describe.concurrent('bad input: one line, exit 2 (or 3), nothing left running', () => {
  for (const { what, args, env, exit = 2, code, says } of CASES) {
    test(what, async () => {
      const result = await runCli(args, env);
      expect(result.stdout).toBe('');
      const lines = result.stderr.split('\n').filter(Boolean);
      expect(lines, result.stderr.slice(0, 2000)).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^session-lab: ${code}: `));
      expect(lines[0]).not.toMatch(/\n\s+at |internal error/);
      expect(result.stderr.length).toBeLessThan(2000);
      for (const word of says) expect(lines[0]).toMatch(typeof word === 'string' ? new RegExp(word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : word);
      expect(result.code).toBe(exit);
      expect(await waitForNoMarked(result.marker)).toEqual([]);
    });
  }
});
