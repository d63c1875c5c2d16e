/**
 * What a run may be asked for, checked before anything starts: the client
 * kinds, the run's defaults and the limits of a Chromium run. Apart from
 * run.ts so that the CLI refuses a bad run without loading the runner.
 */
import { HarnessError } from '../errors.js';
import type { ScenarioClient } from '../scenario/schema.js';

export const RUN_DEFAULTS = { users: 1, repeat: 1, concurrency: 64 } as const;

export const CLIENT_KINDS = ['virtual-user', 'chromium'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** Passes (users × repeat) one `--client chromium` run may make: each is a browser profile of its own. */
export const CHROMIUM_MAX_PASSES = 64;

/** Refuses, as bad input, a run the chosen client cannot make: Chromium runs a few passes of a client that accepts cookies. */
export function checkClientKind(kind: ClientKind, run: { users: number; repeat: number; openEnded: boolean; client: ScenarioClient; scenario: string }): void {
  if (kind !== 'chromium') return;
  const { users, repeat, openEnded, client, scenario } = run;
  if (openEnded || users * repeat > CHROMIUM_MAX_PASSES) {
    throw new HarnessError(
      'SLAB_ERR_OPTION_INVALID',
      `client chromium: expected at most ${CHROMIUM_MAX_PASSES} users × repeat and no --duration/--requests, got ${openEnded ? 'an open-ended run' : `${users} × ${repeat}`}`,
    );
  }
  if (client.cookies === 'refuse' || client.secureOnLocal === false) {
    throw new HarnessError(
      'SLAB_ERR_OPTION_INVALID',
      `client chromium: scenario ${scenario} needs a client that ${client.cookies === 'refuse' ? 'refuses cookies' : 'withholds Secure cookies on localhost'}; expected the default client`,
    );
  }
}
