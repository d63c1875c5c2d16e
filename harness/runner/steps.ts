/** Scenario steps as the runner walks them: numbered, grouped, filled in, located. */
import type { StartedCluster } from '../cluster.js';
import type { Scenario, ScenarioClient, ScenarioStep } from '../scenario/schema.js';

export interface PlannedStep {
  number: number;
  step: ScenarioStep;
  /** For a `together` group: its requests, each with its own number. */
  group?: { number: number; step: ScenarioStep }[];
}

export function expandSteps(scenario: Scenario): PlannedStep[] {
  const planned: PlannedStep[] = [];
  let number = 0;
  for (const step of scenario.steps) {
    for (let i = 0; i < (step.repeat ?? 1); i++) {
      if (step.together) {
        const group = step.together.map((inner) => ({ number: ++number, step: inner }));
        planned.push({ number: group[0].number, step, group });
      } else {
        planned.push({ number: ++number, step });
      }
    }
  }
  return planned;
}

/** Fills `{{user}}`, `{{run}}` and `{{step}}` in a path or body, so each user's data is its own. */
export function fill(text: string, values: { user: number; run: number; step: number }): string {
  return text.replace(/\{\{(user|run|step)\}\}/g, (_, key: 'user' | 'run' | 'step') => String(values[key]));
}

/** Where a step goes: the URL as the user's browser would have it. */
export function stepUrl(cluster: StartedCluster, client: ScenarioClient, step: ScenarioStep, previousBody: string | undefined): string {
  if (step.follow) {
    let link: unknown;
    try {
      link = (JSON.parse(previousBody ?? '') as Record<string, unknown>)[step.follow];
    } catch {
      link = undefined;
    }
    if (typeof link !== 'string' || !/^https?:\/\//.test(link)) {
      throw new Error(`follow: the previous response has no absolute URL in field "${step.follow}"`);
    }
    return link;
  }
  const scheme = step.scheme ?? client.scheme ?? (cluster.options.https ? 'https' : 'http');
  const host = client.host ?? 'site';
  if (host === 'site') return new URL(step.path!, cluster.siteUrl(scheme)).toString();
  const port = scheme === 'https' ? cluster.site.httpsPort : cluster.site.httpPort;
  return new URL(step.path!, `${scheme}://${host}:${port}/`).toString();
}

/** Requests one run of the scenario makes. */
export function requestsPerRun(steps: readonly PlannedStep[]): number {
  return steps.reduce((n, { step, group }) => n + (group ? group.length : step.wait === undefined ? 1 : 0), 0);
}
