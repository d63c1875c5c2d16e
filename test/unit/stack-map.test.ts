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

  /** A frame of `fn` in the bundle file `bundled` maps back to where tsc put `fn`, in `compiled` (both under dist/). */
  function expectMapsBack(bundled: string[], fn: string, compiled: string[]): void {
    const root = join(import.meta.dirname, '..', '..');
    const file = join(root, 'dist', ...bundled);
    const lineOf = (path: string, start: string) =>
      readFileSync(path, 'utf8')
        .split('\n')
        .findIndex((text) => text.startsWith(start));
    const line = lineOf(file, `async function ${fn}(`);
    expect(line).toBeGreaterThan(0);
    const original = join(root, 'dist', ...compiled);
    const originalLine = lineOf(original, `export async function ${fn}(`);
    expect(mapStack(`    at ${fn} (${pathToFileURL(file).href}:${line + 1}:1)`)).toBe(`    at ${fn} (${original}:${originalLine + 1}:1)`);
  }

  test("the built CLI bundle's map leads back to dist/harness/cli/main.js", () => {
    expectMapsBack(['harness', 'cli', 'bundle', 'main.js'], 'main', ['harness', 'cli', 'main.js']);
  });

  test('a chunk the CLI loads once its input is good (the runner) maps back to dist/harness/runner/run.js', () => {
    expectMapsBack(['harness', 'cli', 'bundle', 'run.js'], 'runScenario', ['harness', 'runner', 'run.js']);
  });
});
