import type { StepExpectations } from '../scenario/schema.js';
import type { ClientExchange } from '../client/virtual-user.js';

/** What a step's expectations are checked against. */
export interface StepOutcome {
  exchange: ClientExchange;
  sessionUser: string | undefined;
  sessionIdBefore: string | undefined;
  sessionIdAfter: string | undefined;
}

function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * Checks a step's expectations, except `reset`, which the runner checks
 * against the diagnosis. Returns one line per expectation that failed.
 */
export function checkExpectations(expect: StepExpectations | undefined, outcome: StepOutcome): string[] {
  if (!expect) return [];
  const failures: string[] = [];
  const { exchange } = outcome;
  if (expect.status !== undefined && exchange.status !== expect.status) {
    failures.push(`status: expected ${expect.status}, got ${exchange.error ? `no response (${exchange.error})` : exchange.status}`);
  }
  if (expect.bodyContains !== undefined && !exchange.body.includes(expect.bodyContains)) {
    failures.push(`body: expected to contain ${JSON.stringify(expect.bodyContains)}, got ${JSON.stringify(exchange.body.slice(0, 120))}`);
  }
  if (expect.json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(exchange.body);
    } catch {
      failures.push(`json: expected a JSON body, got ${JSON.stringify(exchange.body.slice(0, 120))}`);
    }
    if (parsed !== undefined) {
      for (const [path, want] of Object.entries(expect.json)) {
        const got = at(parsed, path);
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          failures.push(`json ${path}: expected ${JSON.stringify(want)}, got ${got === undefined ? 'nothing' : JSON.stringify(got)}`);
        }
      }
    }
  }
  if (expect.loggedInAs !== undefined && (outcome.sessionUser ?? null) !== expect.loggedInAs) {
    failures.push(`logged in: expected ${expect.loggedInAs === null ? 'logged out' : `as ${expect.loggedInAs}`}, backend saw ${outcome.sessionUser ? `user ${outcome.sessionUser}` : 'no login'}`);
  }
  if (expect.sameSession !== undefined) {
    const same = outcome.sessionIdBefore !== undefined && outcome.sessionIdBefore === outcome.sessionIdAfter;
    if (same !== expect.sameSession) {
      failures.push(expect.sameSession ? 'session: expected the same session as before, got a different one' : 'session: expected a new session, got the same one');
    }
  }
  return failures;
}
