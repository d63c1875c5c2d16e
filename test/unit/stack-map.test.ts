/** The CLI's internal-error stack trace, mapped through the bundle's source maps when it is printed. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { mapStack } from '../../harness/util/stack-map.js';

const dir = mkdtempSync(join(tmpdir(), 'slab-stack-map-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mapStack', () => {
  // out/bundle.js line 2 column 1 comes from src/a.js line 3 column 1 ("AAEA": two lines down).
  mkdirSync(join(dir, 'out'));
  const bundle = join(dir, 'out', 'bundle.js');
  writeFileSync(bundle, 'x;\ny;\n');
  writeFileSync(`${bundle}.map`, JSON.stringify({ version: 3, file: 'bundle.js', sources: ['../src/a.js'], names: [], mappings: 'AAAA;AAEA' }));

  test('a frame in a bundle with a map names the original file, line and column', () => {
    const stack = `Error: boom\n    at boom (${pathToFileURL(bundle).href}:2:1)\n    at ${pathToFileURL(bundle).href}:1:1`;
    expect(mapStack(stack)).toBe(`Error: boom\n    at boom (${join(dir, 'src', 'a.js')}:3:1)\n    at ${join(dir, 'src', 'a.js')}:1:1`);
  });

  test('frames without a map, and node internals, stay as they were', () => {
    const other = pathToFileURL(join(dir, 'no-map.js')).href;
    const stack = `Error: boom\n    at f (${other}:7:3)\n    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)`;
    expect(mapStack(stack)).toBe(stack);
  });

  test("the built CLI bundle's map leads back to dist/harness/cli/main.js", () => {
    const root = join(import.meta.dirname, '..', '..');
    const cli = join(root, 'dist', 'harness', 'cli', 'bundle', 'main.js');
    const line = readFileSync(cli, 'utf8')
      .split('\n')
      .findIndex((text) => text.startsWith('async function main('));
    expect(line).toBeGreaterThan(0);
    const original = readFileSync(join(root, 'dist', 'harness', 'cli', 'main.js'), 'utf8')
      .split('\n')
      .findIndex((text) => text.startsWith('export async function main('));
    expect(mapStack(`    at main (${pathToFileURL(cli).href}:${line + 1}:1)`)).toBe(`    at main (${join(root, 'dist', 'harness', 'cli', 'main.js')}:${original + 1}:1)`);
  });

  test('a chunk the CLI loads once its input is good (the runner) maps back to dist/harness/runner/run.js', () => {
    const root = join(import.meta.dirname, '..', '..');
    const chunk = join(root, 'dist', 'harness', 'cli', 'bundle', 'run.js');
    const line = readFileSync(chunk, 'utf8')
      .split('\n')
      .findIndex((text) => text.startsWith('async function runScenario('));
    expect(line).toBeGreaterThan(0);
    const original = readFileSync(join(root, 'dist', 'harness', 'runner', 'run.js'), 'utf8')
      .split('\n')
      .findIndex((text) => text.startsWith('export async function runScenario('));
    expect(mapStack(`    at runScenario (${pathToFileURL(chunk).href}:${line + 1}:1)`)).toBe(`    at runScenario (${join(root, 'dist', 'harness', 'runner', 'run.js')}:${original + 1}:1)`);
  });
});
