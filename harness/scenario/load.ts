import { readFileSync, statSync } from 'node:fs';
import { extname, relative } from 'node:path';
import { parseDocument } from 'yaml';
import { HarnessError } from '../errors.js';
import { EXTENSIONS, locateScenario } from './locate.js';
import { dataDepth, MAX_ALIAS_COUNT, MAX_NESTING, MAX_PROBLEMS_SHOWN, MAX_SCENARIO_BYTES, nestingDepth, quote } from './limits.js';
import { finishScenario } from './finish.js';
import { ScenarioSchema, type Scenario } from './schema.js';

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

/** Validates already-parsed scenario data; `file` names it in errors. The first few problems are listed, the rest counted. */
export function parseScenario(data: unknown, file: string): LoadedScenario {
  return finishScenario(validateScenarioData(data, file), file);
}

function validateScenarioData(data: unknown, file: string): Scenario {
  const where = displayPath(file);
  if (dataDepth(data) > MAX_NESTING) throw invalid(`${where}: nested more than ${MAX_NESTING} levels deep`);
  let result: ReturnType<typeof ScenarioSchema.safeParse>;
  try {
    result = ScenarioSchema.safeParse(data, { reportInput: true });
  } catch (error) {
    // A stack overflow in validation is a file nested too deeply, whatever the limits above missed.
    if (error instanceof RangeError) throw invalid(`${where}: nested too deeply to validate`, error);
    throw error;
  }
  if (!result.success) {
    const issues = result.error.issues;
    const shown = issues.slice(0, MAX_PROBLEMS_SHOWN).map((issue) => {
      const got = 'input' in issue && issue.input !== undefined && issue.code !== 'unrecognized_keys' && issue.code !== 'custom' ? `, got ${quote(issue.input)}` : '';
      return `${formatPath(issue.path)}: ${cut(issue.message)}${got}`;
    });
    const more = issues.length > shown.length ? `; and ${issues.length - shown.length} more problem${issues.length - shown.length > 1 ? 's' : ''}` : '';
    throw invalid(`${where}: ${shown.join('; ')}${more}`);
  }
  return result.data;
}

function invalid(message: string, cause?: unknown): HarnessError {
  return new HarnessError('SLAB_ERR_SCENARIO_INVALID', `invalid scenario: ${message}`, cause === undefined ? undefined : { cause });
}

/** A message (which may quote a value) cut to one readable line. */
function cut(message: string): string {
  const line = message.replace(/\s*\n\s*/g, ' ');
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Reads a scenario file that is a regular file of sane size; anything else is refused before it is opened for reading. */
function readScenarioText(file: string): string {
  const where = displayPath(file);
  let stats;
  try {
    stats = statSync(file);
  } catch (error) {
    throw new HarnessError('SLAB_ERR_SCENARIO_NOT_FOUND', `${where}: cannot read scenario file (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
  if (stats.isDirectory()) throw invalid(`${where}: is a directory; expected a .yaml, .yml or .json file`);
  // A FIFO or a device would block or never end: refuse it without opening it.
  if (!stats.isFile()) throw invalid(`${where}: not a regular file (a FIFO, socket or device); expected a .yaml, .yml or .json file`);
  if (stats.size > MAX_SCENARIO_BYTES) throw invalid(`${where}: ${stats.size} bytes; a scenario file may have at most ${MAX_SCENARIO_BYTES}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new HarnessError('SLAB_ERR_SCENARIO_NOT_FOUND', `${where}: cannot read scenario file (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
  // A byte order mark, as some editors write: not part of the document.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Scenarios already parsed in this process, by working directory and path,
 * with the text they came from. Parsing YAML and validating with zod costs
 * ~10 ms a file (a test worker loads the built-in scenarios ~60 times, a
 * `compare` once per architecture); reading the text again and finding it
 * unchanged is enough to reuse the result. Each caller gets its own copy.
 */
const parsed = new Map<string, { text: string; scenario: LoadedScenario }>();

export function loadScenarioFile(file: string): LoadedScenario {
  const where = displayPath(file);
  if (!EXTENSIONS.includes(extname(file).toLowerCase())) {
    throw invalid(`${where}: expected a .yaml, .yml or .json file, got ${quote(extname(file) || 'no extension')}`);
  }
  const text = readScenarioText(file);
  const key = `${process.cwd()}\0${file}`;
  const known = parsed.get(key);
  if (known?.text === text) return structuredClone(known.scenario);
  const scenario = parseScenarioText(file, where, text);
  parsed.set(key, { text, scenario: structuredClone(scenario) });
  return scenario;
}

function parseScenarioText(file: string, where: string, text: string): LoadedScenario {
  return finishScenario(validateScenarioText(file, text, where), file);
}

/**
 * The scenario a file's text holds, validated, not yet tied to the file
 * (finish.ts): what the build keeps of each built-in scenario (prebuilt.ts).
 */
export function validateScenarioText(file: string, text: string, where = displayPath(file)): Scenario {
  const depth = nestingDepth(text);
  if (depth > MAX_NESTING) throw invalid(`${where}: nested ${depth} levels deep; at most ${MAX_NESTING}`);
  let data: unknown;
  if (extname(file).toLowerCase() === '.json') {
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw invalid(`${where}: not valid JSON: ${cut((error as Error).message)}`, error);
    }
  } else {
    let doc;
    try {
      doc = parseDocument(text, { uniqueKeys: true });
    } catch (error) {
      throw invalid(`${where}: not valid YAML: ${cut((error as Error).message)}`, error);
    }
    if (doc.errors.length) {
      const error = doc.errors[0];
      const at = error.linePos?.[0] ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}: ` : '';
      throw invalid(`${where}: ${at}not valid YAML: ${cut(error.message.split(' at line ')[0])}`, error);
    }
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      // yaml refuses alias bombs (ReferenceError: excessive alias count) and we refuse what overflows.
      throw invalid(`${where}: not a usable YAML document: ${cut((error as Error).message)} (at most ${MAX_ALIAS_COUNT} alias expansions)`, error);
    }
  }
  return validateScenarioData(data, file);
}

/**
 * A built-in scenario by name (`login-browse`), or a scenario file by path
 * (scenario/locate.ts says which).
 */
export function loadScenario(nameOrPath: string): LoadedScenario {
  return loadScenarioFile(locateScenario(nameOrPath));
}

export { builtInScenarioNames } from './locate.js';
