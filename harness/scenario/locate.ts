/**
 * Which file a scenario argument names, found before the file is read: the
 * CLI refuses a name that is no scenario without loading the parser and the
 * schema (load.ts reads and validates what this finds).
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { HarnessError } from '../errors.js';
import { SCENARIOS_DIR } from '../util/paths.js';
import { quote } from './limits.js';

export const EXTENSIONS = ['.yaml', '.yml', '.json'];

/** The built-in scenario names, from scenarios/. */
export function builtInScenarioNames(): string[] {
  return readdirSync(SCENARIOS_DIR)
    .filter((file) => EXTENSIONS.includes(extname(file)))
    .map((file) => basename(file, extname(file)))
    .sort();
}

const SCENARIO_NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * A built-in scenario by name (`login-browse`), or a scenario file by path.
 * A name is only ever looked up inside scenarios/ (`../package` is not a
 * name); anything with a slash or an extension is a path.
 */
export function locateScenario(nameOrPath: string): string {
  if (nameOrPath === '') throw new HarnessError('SLAB_ERR_SCENARIO_NOT_FOUND', 'scenario: expected a name or a file, got ""');
  if (SCENARIO_NAME.test(nameOrPath)) {
    for (const ext of EXTENSIONS) {
      const file = join(SCENARIOS_DIR, `${nameOrPath}${ext}`);
      if (existsSync(file)) return file;
    }
  }
  const asPath = resolve(nameOrPath);
  if (existsSync(asPath)) return asPath;
  const builtIn = SCENARIO_NAME.test(nameOrPath) ? `, and no built-in scenario of that name (built-in: ${builtInScenarioNames().join(', ')})` : '';
  throw new HarnessError('SLAB_ERR_SCENARIO_NOT_FOUND', `scenario ${quote(nameOrPath)}: no such file${builtIn}`);
}
