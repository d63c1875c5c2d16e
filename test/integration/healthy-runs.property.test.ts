/**
 * Generated healthy runs: Redis-shared sessions, no faults, random step
 * sequences from everything the reference app offers but logout. Whatever
 * the sequence, the diagnosis must find no reset — it must never cry wolf.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startCluster, type StartedCluster } from '../../harness/cluster.js';
import { runScenario } from '../../harness/runner/run.js';
import { parseScenario } from '../../harness/scenario/load.js';
import type { ScenarioStep } from '../../harness/scenario/schema.js';

const STEP: fc.Arbitrary<ScenarioStep> = fc.oneof(
  fc.constant<ScenarioStep>({ method: 'GET', path: '/' }),
  fc.constantFrom('alice', 'bob').map<ScenarioStep>((user) => ({ method: 'POST', path: '/login', json: { user, password: `${user}-pw` } })),
  fc.constant<ScenarioStep>({ method: 'POST', path: '/login', json: { user: 'alice', password: 'wrong' } }),
  fc.constant<ScenarioStep>({ method: 'GET', path: '/drafts' }),
  fc.constantFrom('book', 'pen').map<ScenarioStep>((sku) => ({ method: 'POST', path: '/cart/items', json: { sku, qty: 1 } })),
  fc.constant<ScenarioStep>({ method: 'GET', path: '/cart' }),
  fc.constant<ScenarioStep>({ method: 'POST', path: '/profile' }),
  fc.constant<ScenarioStep>({ method: 'GET', path: '/partner/link' }),
  fc.constant<ScenarioStep>({ method: 'GET', path: '/no-such-page' }),
);

let cluster: StartedCluster;
beforeAll(async () => {
  // Secure cookies only when https, trusted proxy: the healthy setup.
  cluster = await startCluster({ servers: 3, store: 'redis', https: true, session: { secureCookie: 'auto', trustProxy: true } });
});
afterAll(async () => {
  await cluster?.stop();
});

test('random healthy runs have zero resets', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(STEP, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 4 }), async (steps, users) => {
      const scenario = parseScenario({ name: 'generated', description: 'generated healthy run', steps }, 'generated');
      const result = await runScenario(cluster, scenario, { users });
      expect(result.errors).toBe(0);
      expect(result.resets).toEqual([]);
    }),
    { numRuns: 25 },
  );
});
