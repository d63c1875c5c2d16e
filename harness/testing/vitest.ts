/**
 * `session-lab/vitest`: matchers for a RunResult, registered on import.
 *
 *   import 'session-lab/vitest';
 *   expect(await runScenarioOnNewCluster(loadScenario('login-browse'), { users: 4 })).toResetWith('replication');
 *   expect(result).toKeepSessions();
 *
 * A failure's message is the run's report, as `session-lab run` prints it:
 * each reset with its cause, evidence and what every hop saw.
 */
import { expect } from 'vitest';
import { formatRun } from '../cli/report.js';
import { RESET_CAUSES, type ResetCause } from '../diagnosis/diagnose.js';
import type { RunResult } from '../runner/run.js';

interface MatcherResult {
  pass: boolean;
  message: () => string;
}

function isRunResult(value: unknown): value is RunResult {
  return typeof value === 'object' && value !== null && 'resetsByCause' in value && 'resets' in value && 'records' in value;
}

function report(result: RunResult): string {
  return formatRun(result, { cookieName: result.cookieName ?? 'sid' });
}

function notAResult(matcher: string, value: unknown): MatcherResult {
  return {
    pass: false,
    message: () => `${matcher}: expected the result of runScenario or runScenarioOnNewCluster, got ${typeof value === 'object' ? JSON.stringify(value)?.slice(0, 200) : String(value)}`,
  };
}

const causes = (result: RunResult) =>
  Object.entries(result.resetsByCause)
    .filter(([, n]) => n > 0)
    .map(([cause, n]) => `${cause} ${n}`)
    .join(', ');

export const sessionMatchers = {
  /** No session reset at all in the run (a logout the scenario asks for is a reset: use toResetWith('code')). */
  toKeepSessions(received: unknown): MatcherResult {
    if (!isRunResult(received)) return notAResult('toKeepSessions', received);
    const pass = received.resetsTotal === 0;
    return {
      pass,
      message: () =>
        pass
          ? `expected session resets, but every session was kept (${received.requests} requests)\n\n${report(received)}`
          : `expected every session to be kept, but ${received.resetsTotal} reset (${causes(received)})\n\n${report(received)}`,
    };
  },

  /** The run reset sessions, every reset with this cause. */
  toResetWith(received: unknown, cause: ResetCause): MatcherResult {
    if (!RESET_CAUSES.includes(cause)) {
      throw new TypeError(`toResetWith: expected one of ${RESET_CAUSES.join(', ')}, got ${JSON.stringify(cause)}`);
    }
    if (!isRunResult(received)) return notAResult('toResetWith', received);
    const pass = received.resetsTotal > 0 && received.resetsByCause[cause] === received.resetsTotal;
    return {
      pass,
      message: () =>
        pass
          ? `expected no reset with cause ${cause}, got ${received.resetsTotal}\n\n${report(received)}`
          : received.resetsTotal === 0
            ? `expected session resets with cause ${cause}, but every session was kept (${received.requests} requests)\n\n${report(received)}`
            : `expected every reset to have cause ${cause}, got ${causes(received)}\n\n${report(received)}`,
    };
  },
};

expect.extend(sessionMatchers);

interface SessionMatchers<R = unknown> {
  /** No session reset at all in the run. */
  toKeepSessions(): R;
  /** The run reset sessions, every reset with this cause. */
  toResetWith(cause: ResetCause): R;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends SessionMatchers<T> {}
}
