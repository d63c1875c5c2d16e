/**
 * Warm reference backends (harness/backend/warm-pool.ts) on real processes:
 * a cluster that stops cleanly leaves its healthy backends idle for the next
 * cluster, which must not be able to tell them from fresh ones — no session,
 * config or log line of the previous life — and nothing outlives the pool.
 * Each test starts from an empty pool.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startCluster, type StartedCluster } from '../../harness/cluster.js';
import { idleBackendPids, stopIdleBackends, WARM_BACKENDS_ENV } from '../../harness/backend/warm-pool.js';
import { setTimeoutBudget, timeoutBudgetMs } from '../../harness/util/budget.js';
import { PACKAGE_ROOT } from '../../harness/util/paths.js';
import { pollUntil } from '../../harness/util/wait.js';
import { isAlive, pidsWithMarker, waitForGone, waitForNoMarked } from '../helpers/processes.js';
import { testRedis } from '../helpers/redis.js';

/** One request straight to a backend (no balancer), with `cookie` as the Cookie header. */
async function ask(url: string, path: string, { cookie, json }: { cookie?: string; json?: unknown } = {}) {
  const response = await fetch(`${url}${path}`, {
    method: json === undefined ? 'GET' : 'POST',
    headers: { ...(cookie && { cookie }), ...(json !== undefined && { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  await response.text();
  return {
    status: response.status,
    backend: response.headers.get('x-backend'),
    session: response.headers.get('x-session-status'),
    user: response.headers.get('x-session-user'),
    /** `name=value` of each Set-Cookie. */
    cookies: response.headers.getSetCookie().map((c) => c.split(';')[0]),
  };
}

const pidsOf = (cluster: StartedCluster) => cluster.backends.map((b) => b.pid!);

/** The receive queue of the server's end of the loopback connection `client` → `server`, from /proc/net/tcp; undefined until it exists. */
function serverReceiveQueue(serverPort: number, clientPort: number): number | undefined {
  for (const row of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, remote, state, queues] = row.trim().split(/\s+/);
    if (!local || state !== '01') continue;
    if (parseInt(local.split(':')[1], 16) === serverPort && parseInt(remote.split(':')[1], 16) === clientPort) return parseInt(queues.split(':')[1], 16);
  }
  return undefined;
}

/**
 * Sends a request whose handler is running when this resolves: the server
 * has read every byte of it (its receive queue is empty), and the handler
 * runs up to its first real wait in the same turn. `ended`: how the request
 * ended.
 */
async function inFlight(url: string, request: string, cookie: string, json: unknown): Promise<{ ended: Promise<'answered' | 'cut off'> }> {
  const [method, path] = request.split(' ');
  const { port } = new URL(url);
  const body = JSON.stringify(json);
  const socket = connect(Number(port), '127.0.0.1');
  const ended = new Promise<'answered' | 'cut off'>((resolve) => {
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(answer.startsWith('HTTP/1.1') ? 'answered' : 'cut off'));
  });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  await new Promise<void>((resolve) =>
    socket.write(`${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncookie: ${cookie}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => resolve()),
  );
  await pollUntil(async () => (serverReceiveQueue(Number(port), socket.localPort!) === 0 ? true : undefined), { what: `the server to read ${request}` });
  return { ended };
}

beforeEach(async () => {
  await stopIdleBackends();
});

// These tests expect a process idled a moment ago to be there for the next
// cluster. It is stopped after a share of the time budget (idleLimitMs), and
// a loaded machine took longer than that between two clusters of one test:
// four budgets for this file (it runs its tests one after another; the
// budget goes back to the environment's at the end).
beforeAll(() => setTimeoutBudget(4 * timeoutBudgetMs()));
afterAll(() => setTimeoutBudget(undefined));

describe('a backend recycled from a stopped cluster', () => {
  testRedis('holds no session of its previous life, takes the new config (cookie name, memory → Redis), and sends none of its old log lines to the new cluster', async () => {
    const first = await startCluster({ servers: 1, store: 'memory' });
    const [pid] = pidsOf(first);
    const login = await ask(first.backends[0].url, '/login', { json: { user: 'alice', password: 'alice-pw' } });
    expect(login).toMatchObject({ status: 200, user: 'alice' });
    const oldCookie = login.cookies.find((c) => c.startsWith('sid='))!;
    expect(oldCookie).toBeDefined();
    // A request still in the old life when it ends: its handler, waiting out its delay, finishes later.
    const { ended: late } = await inFlight(first.backends[0].url, 'POST /cart/items', oldCookie, { sku: 'late', delayMs: 2000 });
    await first.stop();
    const stopped = Date.now();
    expect(await late).toBe('cut off');
    expect(idleBackendPids()).toEqual([pid]);

    const secondStarting = Date.now();
    await using second = await startCluster({ servers: 2, store: 'redis', session: { cookieName: 'lab_sid' } });
    expect(pidsOf(second)).toContain(pid);
    const warm = second.backends.find((b) => b.pid === pid)!;
    const other = second.backends.find((b) => b.pid !== pid)!;
    expect(isAlive(other.pid!)).toBe(true);

    // Its name is the new cluster's, and the old session is unknown, under either cookie name.
    const oldSession = await ask(warm.url, '/drafts', { cookie: `${oldCookie}; lab_${oldCookie}` });
    expect(oldSession).toMatchObject({ status: 401, backend: warm.name, session: 'unknown-id', user: null });
    const names = oldSession.cookies.map((c) => c.split('=')[0]);
    expect(names).toContain('lab_sid');
    expect(names).not.toContain('sid');

    // Its store is the new cluster's Redis: a login on it is a session on the other (fresh) backend.
    const relogin = await ask(warm.url, '/login', { json: { user: 'bob', password: 'bob-pw' } });
    const newCookie = relogin.cookies.find((c) => c.startsWith('lab_sid='))!;
    expect(await ask(other.url, '/drafts', { cookie: newCookie })).toMatchObject({ status: 200, user: 'bob', session: 'loaded' });

    // Let the old request's delay run out in that process (due at the latest 2 s after the old life ended),
    // then have it serve two requests, one after the other: the old handler's timer has fired before the second.
    await pollUntil(async () => (Date.now() > stopped + 2000 ? true : (await ask(warm.url, '/'), undefined)), { what: "the old request's delay to run out" });
    for (const path of ['/after-1', '/after-2']) {
      const sent = Date.now();
      expect(await ask(warm.url, path)).toMatchObject({ status: 404, backend: warm.name });
      await pollUntil(async () => second.history.backendLog.some((line) => line.path === path && line.time >= sent) || undefined, { what: `the log line of GET ${path}` });
    }
    // Neither the old life's lines nor the late one reached the new cluster (nor the old one after its end).
    expect(second.history.backendLog.filter((line) => line.time < secondStarting || line.path === '/cart/items')).toEqual([]);
    expect(first.history.backendLog.filter((line) => line.path === '/cart/items')).toEqual([]);
    expect(first.history.backendLog.filter((line) => line.path === '/login')).toHaveLength(1);
  });

  test('an old handle cannot stop, kill or pause the process once it serves another cluster', async () => {
    const first = await startCluster({ servers: 1, store: 'memory' });
    const stale = first.backends[0];
    await first.stop();
    await using second = await startCluster({ servers: 1, store: 'memory' });
    expect(second.backends[0].pid).toBe(stale.pid);
    await stale.kill();
    await stale.stop();
    expect(isAlive(stale.pid!)).toBe(true);
    expect(await ask(second.backends[0].url, '/health')).toMatchObject({ status: 200, backend: 'app-1' });
  });
});

describe('what is never reused', () => {
  test('a killed backend and a paused one: both end with their cluster', async () => {
    const cluster = await startCluster({ servers: 3, store: 'memory' });
    const [killed, paused, healthy] = pidsOf(cluster);
    await cluster.killBackend('app-1');
    await cluster.pauseBackend('app-2', 20);
    await cluster.stop();
    expect(await waitForGone([killed, paused])).toEqual([]);
    expect(idleBackendPids()).toEqual([healthy]);
    await using next = await startCluster({ servers: 3, store: 'memory' });
    expect(pidsOf(next)).not.toContain(killed);
    expect(pidsOf(next)).not.toContain(paused);
  });

  test('a changed environment: a backend forked before a marker was set never serves a cluster started after, and one with the marker never serves one without it', async () => {
    const marker = `warm-${process.pid}-${Date.now()}`;
    const before = await startCluster({ servers: 1, store: 'memory' });
    const [unmarked] = pidsOf(before);
    await before.stop();
    process.env.SLAB_TEST_MARK = marker;
    try {
      const marked = await startCluster({ servers: 1, store: 'memory' });
      expect(pidsOf(marked)).not.toContain(unmarked);
      expect(pidsWithMarker(marker)).toEqual(pidsOf(marked));
      delete process.env.SLAB_TEST_MARK;
      await marked.stop();
      // The marked process is not kept: nothing started from now on could use it.
      expect(await waitForNoMarked(marker)).toEqual([]);
    } finally {
      delete process.env.SLAB_TEST_MARK;
    }
    // The environment is as it was: the unmarked process fits again.
    await using after = await startCluster({ servers: 1, store: 'memory' });
    expect(pidsOf(after)).toEqual([unmarked]);
  });

  test('a restart starts a brand-new process, even with a fitting one idle', async () => {
    const first = await startCluster({ servers: 2, store: 'memory' });
    await first.stop();
    await using cluster = await startCluster({ servers: 1, store: 'memory' });
    const [old] = pidsOf(cluster);
    const [idle] = idleBackendPids();
    expect(idle).toBeDefined();
    await cluster.restartBackend('app-1');
    const [restarted] = pidsOf(cluster);
    expect(restarted).not.toBe(old);
    expect(restarted).not.toBe(idle);
    expect(idleBackendPids()).toEqual([idle]);
    expect(await waitForGone([old])).toEqual([]);
  });

  test(`${WARM_BACKENDS_ENV}=0 turns reuse off; a malformed value is refused naming the variable`, async () => {
    process.env[WARM_BACKENDS_ENV] = '0';
    try {
      const cluster = await startCluster({ servers: 2, store: 'memory' });
      const pids = pidsOf(cluster);
      await cluster.stop();
      expect(idleBackendPids()).toEqual([]);
      expect(await waitForGone(pids)).toEqual([]);
      process.env[WARM_BACKENDS_ENV] = 'lots';
      await expect(startCluster({ servers: 1, store: 'memory' })).rejects.toMatchObject({ code: 'SLAB_ERR_OPTION_INVALID', message: expect.stringContaining(`${WARM_BACKENDS_ENV}: expected 0`) });
    } finally {
      delete process.env[WARM_BACKENDS_ENV];
    }
  });
});

describe('nothing outlives the pool', () => {
  test('stopIdleBackends() ends every idle process', async () => {
    const cluster = await startCluster({ servers: 3, store: 'memory' });
    const pids = pidsOf(cluster);
    await cluster.stop();
    expect(idleBackendPids().sort()).toEqual([...pids].sort());
    expect(pids.filter(isAlive)).toEqual(pids);
    await stopIdleBackends();
    expect(idleBackendPids()).toEqual([]);
    expect(await waitForGone(pids)).toEqual([]);
  });

  /** A harness process of its own (the built library) that runs a cluster, stops it, prints the idle pids, then `then`s. */
  function harnessProcess(then: 'end' | 'wait') {
    const library = join(PACKAGE_ROOT, 'dist', 'harness', 'index.js');
    const pool = join(PACKAGE_ROOT, 'dist', 'harness', 'backend', 'warm-pool.js');
    const script = `
      const { startCluster } = await import(${JSON.stringify(library)});
      const { idleBackendPids } = await import(${JSON.stringify(pool)});
      const cluster = await startCluster({ servers: 2, store: 'memory' });
      await cluster.stop();
      console.log(JSON.stringify(idleBackendPids()));
      ${then === 'wait' ? 'setInterval(() => {}, 1000);' : ''}`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const idle = new Promise<number[]>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(JSON.parse(out) as number[]);
      });
      child.once('exit', (code) => reject(new Error(`the harness exited with ${code} before printing`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, idle, exited };
  }

  test('a harness process that is done exits by itself, idle backends and all', async () => {
    const harness = harnessProcess('end');
    const idle = await harness.idle;
    expect(idle).toHaveLength(2);
    expect(await harness.exited).toBe(0);
    expect(await waitForGone(idle)).toEqual([]);
  });

  test('SIGKILL of a harness process with idle backends leaves none of them', async () => {
    const harness = harnessProcess('wait');
    const idle = await harness.idle;
    expect(idle).toHaveLength(2);
    expect(idle.filter(isAlive)).toEqual(idle);
    harness.child.kill('SIGKILL');
    await harness.exited;
    expect(await waitForGone(idle, timeoutBudgetMs())).toEqual([]);
  });
});
