/**
 * Regression: the CLI refuses bad input without loading the world. A bad
 * flag or a missing scenario is answered by main.js alone; what starts,
 * runs, diagnoses or reports (undici, ioredis, zod, yaml, tough-cookie…)
 * sits in chunks that main.js import()s only once the input is good; the
 * Redis client only in a chunk the runs with a Redis store load.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const bundle = join(import.meta.dirname, '..', '..', 'dist', 'harness', 'cli', 'bundle');
const main = readFileSync(join(bundle, 'main.js'), 'utf8');
/** The files main.js loads before its first line runs: its static imports, followed through the chunks. */
function staticGraph(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(bundle, file), 'utf8');
  for (const [, spec] of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|^import\s*"([^"]+)"/gm)) {
    if (spec?.startsWith('./')) staticGraph(spec.slice(2), seen);
  }
  return seen;
}

describe('the CLI bundle', () => {
  const loaded = [...staticGraph('main.js')];

  test('main.js and what it imports statically carry no npm package: checking the input needs none', () => {
    for (const file of loaded) expect(readFileSync(join(bundle, file), 'utf8'), file).not.toMatch(/^\/\/ node_modules\//m);
  });

  test('the scenario parser, and the cluster, runner and reports, are chunks loaded with import()', () => {
    for (const chunk of ['scenario.js', 'run.js']) {
      expect(loaded, chunk).not.toContain(chunk);
      expect(main).toContain(`import("./${chunk}")`);
    }
  });

  test('a run loads no YAML parser: the run chunk imports the schema, the parser only with import() (a built-in scenario needs none)', () => {
    const run = [...staticGraph('run.js')];
    expect(run).toContain('schema.js');
    expect(run).not.toContain('scenario.js');
    for (const file of run) expect(readFileSync(join(bundle, file), 'utf8'), file).not.toMatch(/^\/\/ node_modules\/yaml\//m);
    expect(readFileSync(join(bundle, 'scenario.js'), 'utf8')).toMatch(/^\/\/ node_modules\/yaml\//m);
    expect(main).toContain('built-in-scenarios.js');
  });

  test('a run on memory sessions loads no Redis client: ioredis is in a chunk the run chunk import()s, for the stores that have a Redis', () => {
    const run = [...staticGraph('run.js')];
    for (const file of run) expect(readFileSync(join(bundle, file), 'utf8'), file).not.toMatch(/^\/\/ node_modules\/ioredis\//m);
    expect(readFileSync(join(bundle, 'redis.js'), 'utf8')).toMatch(/^\/\/ node_modules\/ioredis\//m);
    expect(readFileSync(join(bundle, 'run.js'), 'utf8')).toContain('import("./redis.js")');
  });
});
