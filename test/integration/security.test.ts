/**
 * The security findings, each through the real path a user or attacker
 * takes: the balancer in front of real backends, the CLI writing a history,
 * the Redis session-lab starts.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCluster, type StartedCluster } from '../../harness/cluster.js';
import { provisionRedis } from '../../harness/redis/provision.js';
import { runCli } from '../helpers/cli.js';
import { waitForNoMarked } from '../helpers/processes.js';

describe.concurrent('through the balancer', () => {
  // Each test sends one request and reads its answer: one cluster serves all three.
  let cluster: StartedCluster;
  beforeAll(async () => {
    cluster = await startCluster({ servers: 1, store: 'memory' });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test('a 100 KB POST gets 413, not a 503', async () => {
    const response = await fetch(`${cluster.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice', password: 'x'.repeat(100 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: expect.stringMatching(/over the limit of 65536/) });
  });

  test("a client's X-Forwarded-Proto: https over plain http gets no Secure cookie", async () => {
    const response = await fetch(`${cluster.url}/`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' } });
    expect(response.status).toBe(200);
    const cookies = response.headers.getSetCookie();
    expect(cookies.some((c) => c.startsWith('sid='))).toBe(true);
    for (const cookie of cookies) expect(cookie).not.toMatch(/;\s*Secure/i);
  });

  test("/partner/link points at the configured site, not at a client's X-Forwarded-Host", async () => {
    const response = await fetch(`${cluster.url}/partner/link`, { headers: { 'x-forwarded-host': 'evil.example' } });
    expect(await response.json()).toEqual({ url: 'https://shop.example.test/drafts' });
  });
});

test.concurrent('the Redis session-lab starts refuses clients without its random password', async () => {
  const redis = await provisionRedis({ env: { PATH: process.env.PATH } });
  try {
    const url = new URL(redis.url);
    expect(decodeURIComponent(url.password).length).toBeGreaterThanOrEqual(16);
    const anonymous = new Redis(`redis://127.0.0.1:${url.port}`, { lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    anonymous.on('error', () => {});
    try {
      await anonymous.connect();
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  } finally {
    await redis.stop();
  }
});

// Each test runs a CLI of its own into a file of its own. One server: what the history keeps of a
// request does not depend on how many servers share the sessions.
describe.concurrent('--history', () => {
  const requests = (file: string) =>
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((line) => line.type === 'request');

  test('holds no password and no session id, only their hashes, and is mode 0600 (even if it existed)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'slab-history-')), 'run.jsonl');
    writeFileSync(file, 'old\n', { mode: 0o644 });
    const result = await runCli(['run', 'login-browse', '--store', 'redis', '--servers', '1', '--history', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('alice-pw');
    const records = requests(file);
    expect(records.length).toBeGreaterThan(0);
    const login = records.find((r) => r.path === '/login');
    expect(JSON.parse(login.requestBody)).toEqual({ user: 'alice', password: '[redacted]' });
    for (const r of records) {
      for (const id of [r.sessionIdSent, r.sessionIdInJar, r.sessionIdAfter]) if (id !== undefined) expect(id).toMatch(/^#[0-9a-f]{8}$/);
      for (const cookie of r.jarAfter) expect(cookie.value).toMatch(/^#[0-9a-f]{8}$/);
      for (const header of [...r.setCookie, ...(r.proxy?.setCookie ?? [])]) expect(header).toMatch(/^[^=]+=#[0-9a-f]{8}(;|$)/);
      if (r.cookieSent) expect(r.cookieSent).toMatch(/^([^=;]+=#[0-9a-f]{8}(; )?)+$/);
    }
    // The hashes are the backends' own: the client's view still joins the backend's.
    const after = records.find((r) => r.sessionIdAfter && r.backendSessionHash && r.sessionStatus === 'loaded');
    expect(after.sessionIdAfter).toBe(`#${after.backendSessionHash}`);
    expect(await waitForNoMarked(result.marker)).toEqual([]);
  });

  test('--history-raw keeps what was sent, for a user who needs it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'slab-history-')), 'raw.jsonl');
    const result = await runCli(['run', 'login-browse', '--store', 'redis', '--servers', '1', '--history', file, '--history-raw']);
    expect(result.code, result.stderr).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain('alice-pw');
    expect(requests(file).find((r) => r.sessionIdAfter)?.sessionIdAfter).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
