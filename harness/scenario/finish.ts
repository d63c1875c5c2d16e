import { dirname, resolve } from 'node:path';
import type { LoadedScenario } from './load.js';
import type { Scenario } from './schema.js';

/**
 * A validated scenario, tied to the file it came from: an app's directory
 * is the scenario file's own unless it says otherwise, and relative to it.
 * (A misconfiguration that changes only the env keeps the scenario's directory.)
 */
export function finishScenario(scenario: Scenario, file: string): LoadedScenario {
  for (const cluster of [scenario.cluster, scenario.misconfiguration?.cluster]) {
    const app = cluster?.app;
    if (app && (app.cwd !== undefined || app.command !== undefined)) cluster.app = { ...app, cwd: resolve(dirname(resolve(file)), app.cwd ?? '.') };
  }
  return { ...scenario, file };
}
