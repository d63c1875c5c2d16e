import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { HarnessError } from '../errors.js';
import { SCENARIOS_DIR } from '../util/paths.js';
import { ScenarioSchema, type Scenario } from './schema.js';

const EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface LoadedScenario extends Scenario {
  /** The file it came from. */
  file: string;
}

function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

/** `steps[2].expect.status` from zod's path array. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out || '(top level)';
}

/** Validates already-parsed scenario data; `file` names it in errors. */
export function parseScenario(data: unknown, file: string): LoadedScenario {
  const result = ScenarioSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const got = 'input' in issue && issue.input !== undefined && issue.code !== 'unrecognized_keys' ? `, got ${JSON.stringify(issue.input)}` : '';
      return `${displayPath(file)}: ${formatPath(issue.path)}: ${issue.message}${got}`;
    });
    throw new HarnessError('SLAB_ERR_SCENARIO_INVALID', `invalid scenario\n  ${lines.join('\n  ')}`);
  }
  return { ...result.data, file };
}

export function loadScenarioFile(file: string): LoadedScenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new HarnessError('SLAB_ERR_SCENARIO_NOT_FOUND', `${displayPath(file)}: cannot read scenario file (${(error as NodeJS.ErrnoException).code})`, {
      cause: error,
    });
  }
  let data: unknown;
  if (extname(file) === '.json') {
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new HarnessError('SLAB_ERR_SCENARIO_INVALID', `${displayPath(file)}: not valid JSON: ${(error as Error).message}`, { cause: error });
    }
  } else {
    const doc = parseDocument(text);
    if (doc.errors.length) {
      const error = doc.errors[0];
      const at = error.linePos?.[0] ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}: ` : '';
      throw new HarnessError('SLAB_ERR_SCENARIO_INVALID', `${displayPath(file)}: ${at}not valid YAML: ${error.message.split(' at line ')[0]}`, {
        cause: error,
      });
    }
    data = doc.toJS();
  }
  return parseScenario(data, file);
}

/** The built-in scenario names, from scenarios/. */
export function builtInScenarioNames(): string[] {
  return readdirSync(SCENARIOS_DIR)
    .filter((file) => EXTENSIONS.includes(extname(file)))
    .map((file) => basename(file, extname(file)))
    .sort();
}

/** A built-in scenario by name (`login-browse`), or a scenario file by path. */
export function loadScenario(nameOrPath: string): LoadedScenario {
  const asPath = resolve(nameOrPath);
  if (existsSync(asPath) && EXTENSIONS.includes(extname(asPath))) return loadScenarioFile(asPath);
  for (const ext of EXTENSIONS) {
    const file = join(SCENARIOS_DIR, `${nameOrPath}${ext}`);
    if (existsSync(file)) return loadScenarioFile(file);
  }
  throw new HarnessError(
    'SLAB_ERR_SCENARIO_NOT_FOUND',
    `scenario "${nameOrPath}": no such file, and no built-in scenario of that name (built-in: ${builtInScenarioNames().join(', ')})`,
  );
}
