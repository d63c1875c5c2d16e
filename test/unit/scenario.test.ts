import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { HarnessError } from '../../harness/errors.js';
import { builtInScenarioNames, loadScenario, loadScenarioFile } from '../../harness/scenario/load.js';

function write(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'slab-scenario-')), name);
  writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): HarnessError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HarnessError) return error;
    throw error;
  }
  throw new Error('expected a HarnessError');
}

describe('scenario files', () => {
  test('every built-in scenario is valid', () => {
    const names = builtInScenarioNames();
    expect(names).toEqual(expect.arrayContaining(['login-browse', 'checkout']));
    for (const name of names) expect(loadScenario(name).name).toBe(name);
  });

  test('a file loaded again is parsed again only when its text changed, and each caller gets its own copy', () => {
    const file = write('again.yaml', 'name: again\ndescription: first\nsteps:\n  - method: GET\n    path: /\n');
    const first = loadScenarioFile(file);
    first.steps.push({ name: 'added by a caller', method: 'GET', path: '/drafts' });
    first.description = 'changed by a caller';
    const second = loadScenarioFile(file);
    expect(second).not.toBe(first);
    expect(second.description).toBe('first');
    expect(second.steps).toHaveLength(1);
    writeFileSync(file, 'name: again\ndescription: second\nsteps:\n  - method: GET\n    path: /\n  - method: GET\n    path: /cart\n');
    const changed = loadScenarioFile(file);
    expect(changed.description).toBe('second');
    expect(changed.steps.map((step) => ('path' in step ? step.path : undefined))).toEqual(['/', '/cart']);
    writeFileSync(file, 'name: again\ndescription: d\nsteps:\n  - method: FETCH\n    path: /\n');
    expect(errorOf(() => loadScenarioFile(file)).code).toBe('SLAB_ERR_SCENARIO_INVALID');
  });

  test('a wrong method names the file, the step path, what was expected and what was found', () => {
    const file = write('bad-method.yaml', 'name: bad\ndescription: d\nsteps:\n  - method: GET\n    path: /\n  - method: FETCH\n    path: /drafts\n');
    const error = errorOf(() => loadScenarioFile(file));
    expect(error.code).toBe('SLAB_ERR_SCENARIO_INVALID');
    expect(error.message).toContain('bad-method.yaml');
    expect(error.message).toContain('steps[1].method');
    expect(error.message).toContain('"GET"');
    expect(error.message).toContain('got "FETCH"');
  });

  test('an unknown key inside expect is named with its path', () => {
    const file = write('typo.yaml', 'name: typo\ndescription: d\nsteps:\n  - method: GET\n    path: /\n    expect: { statuss: 200 }\n');
    const error = errorOf(() => loadScenarioFile(file));
    expect(error.message).toContain('steps[0].expect');
    expect(error.message).toContain('statuss');
  });

  test('a path without a leading slash and a missing description are both reported', () => {
    const file = write('two.json', JSON.stringify({ name: 'two', steps: [{ method: 'GET', path: 'drafts' }] }));
    const error = errorOf(() => loadScenarioFile(file));
    expect(error.message).toContain('description');
    expect(error.message).toContain('steps[0].path');
  });

  test('startAfterMs belongs to steps inside a together group', () => {
    const file = write('late.yaml', 'name: late\ndescription: d\nsteps:\n  - { method: GET, path: /, startAfterMs: 10 }\n');
    expect(errorOf(() => loadScenarioFile(file)).message).toContain('steps[0].startAfterMs: "startAfterMs" belongs to steps inside a "together" group');
    const ok = write('group.yaml', 'name: group\ndescription: d\nsteps:\n  - together:\n      - { method: GET, path: / }\n      - { method: GET, path: /cart, startAfterMs: 10 }\n');
    expect(loadScenarioFile(ok).steps[0].together).toHaveLength(2);
  });

  test('YAML syntax errors give the line', () => {
    const file = write('syntax.yaml', 'name: x\nsteps:\n  - method: GET\n    path: [unclosed\n');
    const error = errorOf(() => loadScenarioFile(file));
    expect(error.code).toBe('SLAB_ERR_SCENARIO_INVALID');
    expect(error.message).toMatch(/syntax\.yaml: line \d+/);
  });

  test('a byte order mark, as some editors write, is accepted in JSON and YAML', () => {
    const json = write('bom.json', `\ufeff${JSON.stringify({ name: 'bom', description: 'd', steps: [{ method: 'GET', path: '/' }] })}`);
    expect(loadScenarioFile(json).name).toBe('bom');
    const yaml = write('bom.yaml', '\ufeffname: bom\ndescription: d\nsteps:\n  - { method: GET, path: / }\n');
    expect(loadScenarioFile(yaml).name).toBe('bom');
  });

  test('a name is looked up in scenarios/ only; a path with ../ is a path', () => {
    // scenarios/../package.json exists, but "../package" is not a scenario name.
    expect(errorOf(() => loadScenario('../package')).code).toBe('SLAB_ERR_SCENARIO_NOT_FOUND');
  });

  test('an unknown scenario name lists the built-in ones', () => {
    const error = errorOf(() => loadScenario('no-such-scenario'));
    expect(error.code).toBe('SLAB_ERR_SCENARIO_NOT_FOUND');
    expect(error.message).toContain('login-browse');
  });
});
