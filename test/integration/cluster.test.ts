/** Real clusters: forked app servers, the http-proxy balancer, memory or Redis sessions. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCluster, type StartedCluster } from '../../harness/cluster.js';
import { runScenario } from '../../harness/runner/run.js';
import { loadScenario, parseScenario } from '../../harness/scenario/load.js';
import { pollUntil } from '../../harness/util/wait.js';

/** Land, log in, then 18 drafts views: 20 requests a user. */
const twentyRequests = parseScenario(
  {
    name: 'twenty-requests',
    description: 'land, log in, view drafts 18 times',
    steps: [
      { method: 'GET', path: '/', expect: { status: 200 } },
      { method: 'POST', path: '/login', json: { user: 'bob', password: 'bob-pw' }, expect: { loggedInAs: 'bob' } },
      { method: 'GET', path: '/drafts', repeat: 18, expect: { status: 200, loggedInAs: 'bob', sameSession: true } },
    ],
  },
  'inline:twenty-requests',
);

describe('memory sessions behind round-robin (the classic bug)', () => {
  test('with 3 servers the first request after login is a replication reset', async () => {
    await using cluster = await startCluster({ servers: 3, store: 'memory', balancer: 'round-robin' });
    const result = await runScenario(cluster, loadScenario('login-browse'));

    expect(result.passed).toBe(false);
    const afterLogin = result.resets.find((v) => v.step === 3);
    expect(afterLogin).toMatchObject({ user: 1, request: 'GET /drafts', cause: 'replication', expected: false });
    // Created on the backend that served the login, routed to another one.
    const login = result.records.find((r) => r.step === 2)!;
    expect(afterLogin!.evidence).toContain(`created on ${login.backend} at step 2 (POST /login)`);
    expect(afterLogin!.backend).not.toBe(login.backend);
    expect(result.resets.every((v) => v.cause === 'replication')).toBe(true);
    expect(result.failures.some((f) => f.step === 3 && f.message.startsWith('status: expected 200, got 401'))).toBe(true);
  });

  test('with 1 server nothing resets', async () => {
    await using cluster = await startCluster({ servers: 1, store: 'memory' });
    const result = await runScenario(cluster, twentyRequests, { users: 10 });
    expect(result.requests).toBe(200);
    expect(result.resets).toEqual([]);
    expect(result.passed).toBe(true);
  });
});

describe.concurrent('Redis-shared sessions behind round-robin', () => {
  // Both tests only run scenarios on it, each joining its own records by its own request ids
  // (runner/run.ts): one cluster serves both, side by side.
  let shared: StartedCluster;
  beforeAll(async () => {
    shared = await startCluster({ servers: 3, store: 'redis', balancer: 'round-robin' });
  });
  afterAll(async () => {
    await shared?.stop();
  });

  test('10 users × 20 requests: no reset, every backend served', async () => {
    const cluster = shared;
    const result = await runScenario(cluster, twentyRequests, { users: 10 });
    expect(result.requests).toBe(200);
    expect(result.errors).toBe(0);
    expect(result.resets).toEqual([]);
    expect(result.failures).toEqual([]);
    expect(Object.values(result.requestsPerBackend).every((count) => count > 0)).toBe(true);
  });

  test('the history joins the client, balancer and backend views of each request', async () => {
    const cluster = shared;
    const result = await runScenario(cluster, loadScenario('checkout'));
    expect(result.passed).toBe(true);
    const review = result.records.find((r) => r.path === '/cart')!;
    expect(review.proxy?.backend).toBe(review.backend);
    expect(review.proxy?.cookieIn).toBe(review.cookieSent);
    expect(review.proxy?.cookieOut).toBe(review.cookieSent);
    expect(review.sessionStatus).toBe('loaded');
    // Backend log lines carry a hash of the id, never the id itself.
    // Log lines travel over the backends' stdout: poll for them against a deadline.
    const line = await pollUntil(async () => cluster.history.backendLog.find((l) => l.path === '/cart' && l.backend === review.backend), {
      what: 'the /cart log line',
    });
    expect(line).toMatchObject({ method: 'GET', status: 200, session: 'loaded' });
    expect(line.sid).toMatch(/^[0-9a-f]{8}$/);
    const raw = JSON.stringify(cluster.history.backendLog);
    expect(raw).not.toContain(review.sessionIdSent!);
  });
});
