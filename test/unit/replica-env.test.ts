/**
 * Per-replica values in an app's environment ({BACKEND_ID}, {REPLICA}), and
 * the session id a cookie value carries for the store lookup. No sockets.
 */
import { describe, expect, it } from 'vitest';
import { replicaEnv, unknownPlaceholder } from '../../harness/backend/replica-env.js';
import { validateApp } from '../../harness/backend/command-launcher.js';
import { containsPattern, storeIdOf } from '../../harness/redis/session-key.js';
import { ScenarioSchema } from '../../harness/scenario/schema.js';

describe('replica env', () => {
  it('fills {BACKEND_ID} and {REPLICA} per replica, leaves other text alone', () => {
    const env = { SESSION_SECRET: 'secret-{BACKEND_ID}', SHARD: '{REPLICA}', JSON: '{"a":1}', PLAIN: 'x' };
    expect(replicaEnv(env, 'app-2')).toEqual({ SESSION_SECRET: 'secret-app-2', SHARD: '2', JSON: '{"a":1}', PLAIN: 'x' });
    expect(replicaEnv(undefined, 'app-1')).toEqual({});
  });

  it('refuses a misspelt placeholder, naming it (options, CLI and scenario)', () => {
    expect(unknownPlaceholder('s-{BACKEND}')).toBe('{BACKEND}');
    expect(unknownPlaceholder('s-{BACKEND_ID}-{REPLICA}')).toBeUndefined();
    expect(() => validateApp({ command: 'node app.js', env: { SESSION_SECRET: 's-{REPLICA_ID}' } })).toThrow(/app\.env\.SESSION_SECRET: .*\{REPLICA_ID\}/);
    expect(() => validateApp({ command: 'node app.js', env: { S: 's-{HOSTNAME}' } }, 'cli')).toThrow(/--app-env: /);
    const scenario = (app: unknown, misconfiguration?: unknown) =>
      ScenarioSchema.safeParse({ name: 'x', description: 'x', cluster: { app }, ...(misconfiguration ? { misconfiguration } : {}), steps: [{ method: 'GET', path: '/' }] });
    const bad = scenario({ command: 'node app.js', env: { S: '{BACKEND}' } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0].path).toEqual(['cluster', 'app', 'env', 'S']);
    // A misconfiguration may change only the env of the scenario's app; the scenario's app needs a command or server.
    expect(scenario({ command: 'node app.js' }, { note: 'n', cluster: { app: { env: { S: '{BACKEND_ID}' } } } }).success).toBe(true);
    expect(scenario({ server: 'express' }).success).toBe(true);
    expect(scenario({ env: { S: 'x' } }).error!.issues[0].path).toEqual(['cluster', 'app', 'command']);
    expect(scenario({ command: 'node app.js', server: 'express' }).error!.issues[0].path).toEqual(['cluster', 'app', 'server']);
  });
});

describe('the session id in a cookie value', () => {
  it("express-session's signed s:ID.SIG gives ID; an unsigned value is the id", () => {
    expect(storeIdOf('s:abcDEF123_-xyz.signaturePart+/=')).toBe('abcDEF123_-xyz');
    expect(storeIdOf('0f9a8b7c6d5e4f3a')).toBe('0f9a8b7c6d5e4f3a');
  });
  it('a SCAN pattern that matches the id literally', () => {
    expect(containsPattern('ab*c?[d]')).toBe('*ab\\*c\\?\\[d\\]*');
  });
});
