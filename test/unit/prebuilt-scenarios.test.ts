/**
 * The built-in scenarios the build validated (dist/harness/cli/bundle/
 * built-in-scenarios.js, read by the CLI instead of parsing YAML): each is
 * what loading its file gives, and a file whose text changed is not taken
 * from the table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { builtInScenarioNames, locateScenario } from '../../harness/scenario/locate.js';
import { loadScenarioFile } from '../../harness/scenario/load.js';
import { fromTable, PREBUILT_SCENARIOS_FILE, type PrebuiltScenarios } from '../../harness/scenario/prebuilt.js';

const bundle = join(import.meta.dirname, '..', '..', 'dist', 'harness', 'cli', 'bundle');
const table = ((await import(join(bundle, PREBUILT_SCENARIOS_FILE))) as { default: PrebuiltScenarios }).default;

describe('built-in scenarios validated by the build', () => {
  test('every built-in scenario is in the table, and is what reading and validating its file gives', () => {
    const names = builtInScenarioNames();
    expect(Object.keys(table)).toHaveLength(names.length);
    for (const name of names) {
      const file = locateScenario(name);
      expect(fromTable(table, file, readFileSync(file, 'utf8')), name).toStrictEqual(loadScenarioFile(file));
    }
  });

  test('a built-in file whose text changed, or a file outside scenarios/, is read and validated instead', () => {
    const file = locateScenario('login-browse');
    const text = readFileSync(file, 'utf8');
    expect(fromTable(table, file, text)?.name).toBe('login-browse');
    expect(fromTable(table, file, text.replace('login-browse', 'login-browse-edited'))).toBeUndefined();
    expect(fromTable(table, join(import.meta.dirname, 'login-browse.yaml'), text)).toBeUndefined();
  });

  test('each caller gets its own copy', () => {
    const file = locateScenario('login-browse');
    const text = readFileSync(file, 'utf8');
    const first = fromTable(table, file, text)!;
    first.steps.length = 0;
    expect(fromTable(table, file, text)!.steps.length).toBeGreaterThan(0);
  });
});
