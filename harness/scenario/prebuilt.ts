/**
 * The built-in scenarios, parsed and validated when the package is built:
 * rolldown.config.js writes them, with the text each came from, next to the
 * CLI bundle (built-in-scenarios.js). A CLI run of a built-in scenario whose
 * file still holds that text takes it from there and loads neither the YAML
 * parser nor the schema for it; a file whose text differs (edited in place)
 * is read and validated as any other. Outside the bundle there is no table:
 * every scenario is read and validated.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { SCENARIOS_DIR } from '../util/paths.js';
import { finishScenario } from './finish.js';
import type { LoadedScenario } from './load.js';
import type { Scenario } from './schema.js';

/** The table's file name, next to the module that reads it (the CLI bundle's main.js). */
export const PREBUILT_SCENARIOS_FILE = 'built-in-scenarios.js';

/** One built-in scenario as the build validated it, by file name (login-browse.yaml). */
export type PrebuiltScenarios = Record<string, { text: string; scenario: Scenario }>;

let table: Promise<PrebuiltScenarios | undefined> | undefined;

function readTable(): Promise<PrebuiltScenarios | undefined> {
  const url = new URL(PREBUILT_SCENARIOS_FILE, import.meta.url).href;
  return (table ??= import(url).then(
    (module: { default: PrebuiltScenarios }) => module.default,
    () => undefined,
  ));
}

/** Built-in scenario `file` as the build validated it, when the file's text is still the one validated; else undefined. */
export async function prebuiltScenario(file: string): Promise<LoadedScenario | undefined> {
  if (dirname(file) !== SCENARIOS_DIR) return undefined;
  const prebuilt = await readTable();
  if (!prebuilt?.[basename(file)]) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return fromTable(prebuilt, file, text);
}

/** Scenario `file`, whose text is `text`, from `prebuilt`: only a built-in one, and only with the very text validated. */
export function fromTable(prebuilt: PrebuiltScenarios, file: string, text: string): LoadedScenario | undefined {
  const entry = dirname(file) === SCENARIOS_DIR ? prebuilt[basename(file)] : undefined;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return entry && text === entry.text ? finishScenario(structuredClone(entry.scenario), file) : undefined;
}
