import type { z } from 'zod';
import { parseScenario, type LoadedScenario } from './load.js';
import type { ScenarioSchema } from './schema.js';

/** A scenario as written in code: the YAML file's shape, as a typed plain object. */
export type ScenarioDefinition = z.input<typeof ScenarioSchema>;

/**
 * A scenario from a plain object, validated as a file would be (errors name
 * the path inside it, e.g. `steps[1].expect.status`):
 *
 *   const scenario = defineScenario({ name: 'browse', steps: [{ method: 'GET', path: '/' }] });
 */
export function defineScenario(definition: ScenarioDefinition): LoadedScenario {
  const name = typeof (definition as { name?: unknown })?.name === 'string' ? (definition as { name: string }).name : 'unnamed';
  return parseScenario(definition, `<defineScenario ${name}>`);
}
