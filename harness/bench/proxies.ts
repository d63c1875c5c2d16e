/**
 * Proxies side by side, in one run over the same backends, driven by the
 * same load driver (a worker thread): the session-lab balancer on each
 * forwarding engine (in a process of its own, recording on), HAProxy and
 * nginx (each with one thread / one worker, like the balancer's one event
 * loop) when on PATH. For each: req/s, and the CPU the proxy process spent
 * per request (utime + stime over a fixed number of requests) — the figure
 * a busy machine does not move. Rounds are interleaved and the median kept.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENGINE_NAMES, type EngineName } from '../balancer/engine/engine.js';
import { childExited, stopChild, trackChild } from '../util/children.js';
import { freePort } from '../util/net.js';
import { findOnPath } from '../util/paths.js';
import { table } from '../util/table.js';
import { pollUntil } from '../util/wait.js';
import { cpuSeconds } from './cpu.js';
import type { LoadJob, LoadResult } from './load-worker.js';

export interface ProxyUnderTest {
  label: string;
  url: string;
  pid: number;
  /** nginx: the master's workers do the work. */
  withChildren: boolean;
  stop(): Promise<void>;
}

export interface ProxyFigures {
  label: string;
  rps: number;
  cpuUsPerRequest: number;
  cpuRange: [number, number];
  errors: number;
  non2xx: number;
}

async function ready(url: string, what: string, child: ChildProcess): Promise<void> {
  await pollUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
      return (await fetch(`${url}/health`).catch(() => undefined))?.ok ? true : undefined;
    },
    { what },
  );
}

async function startNodeBalancer(engine: EngineName, targets: string[]): Promise<ProxyUnderTest> {
  const script = new URL('./balancer-child.js', import.meta.url);
  const child = fork(script, [JSON.stringify({ engine, targets })], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  trackChild(child);
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { url: string }) => resolve(message.url));
    child.once('exit', (code) => reject(new Error(`balancer child (${engine}) exited with ${code} before listening`)));
  });
  return {
    label: `session-lab, ${engine} engine`,
    url,
    pid: child.pid!,
    withChildren: false,
    stop: async () => {
      child.disconnect();
      await Promise.race([childExited(child), new Promise((resolve) => setTimeout(resolve, 2000))]);
      await stopChild(child, 1000);
    },
  };
}

async function startConfigured(
  label: string,
  command: string,
  args: (dir: string) => string[],
  config: (port: number, dir: string) => string,
  file: string,
  withChildren: boolean,
): Promise<ProxyUnderTest> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'slab-bench-proxy-'));
  writeFileSync(join(dir, file), config(port, dir));
  const child = spawn(command, args(dir), { stdio: ['ignore', 'ignore', 'pipe'] });
  trackChild(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child, 1000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await ready(url, label, child);
  } catch (error) {
    await stop();
    throw new Error(`${label} did not start: ${stderr.trim().split('\n').slice(-3).join(' | ')}`, { cause: error });
  }
  return { label, url, pid: child.pid!, withChildren, stop };
}

function startHaproxy(targets: string[]): Promise<ProxyUnderTest> {
  const servers = targets.map((url, i) => `    server app-${i + 1} ${new URL(url).host}`).join('\n');
  return startConfigured(
    'HAProxy, 1 thread',
    'haproxy',
    (dir) => ['-f', join(dir, 'haproxy.cfg'), '-db'],
    (port) =>
      `global\n    nbthread 1\n    maxconn 4096\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n    http-reuse always\n` +
      `frontend front\n    bind 127.0.0.1:${port}\n    default_backend apps\nbackend apps\n    balance roundrobin\n${servers}\n`,
    'haproxy.cfg',
    false,
  );
}

function startNginx(targets: string[]): Promise<ProxyUnderTest> {
  const servers = targets.map((url) => `    server ${new URL(url).host};`).join('\n');
  return startConfigured(
    'nginx, 1 worker',
    'nginx',
    (dir) => ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
    (port, dir) =>
      `worker_processes 1;\npid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')} warn;\nevents { worker_connections 4096; }\n` +
      `http {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;\n` +
      `  upstream apps {\n${servers}\n    keepalive 64;\n  }\n` +
      `  server {\n    listen 127.0.0.1:${port};\n    location / {\n      proxy_pass http://apps;\n      proxy_http_version 1.1;\n      proxy_set_header Connection "";\n    }\n  }\n}\n`,
    'nginx.conf',
    true,
  );
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export interface ProxiesOptions {
  targets: string[];
  /** Runs the load driver in its worker thread. */
  drive: (job: LoadJob) => Promise<LoadResult>;
  requests: number;
  rounds: number;
  connections: number;
}

/** Measures every proxy available here; the caller prints. */
export async function measureProxies({ targets, drive, requests, rounds, connections }: ProxiesOptions): Promise<{ figures: ProxyFigures[]; missing: string[] }> {
  const proxies: ProxyUnderTest[] = [];
  const missing: string[] = [];
  try {
    if (findOnPath('haproxy')) proxies.push(await startHaproxy(targets));
    else missing.push('HAProxy (not on PATH: apt-get install haproxy)');
    if (findOnPath('nginx')) proxies.push(await startNginx(targets));
    else missing.push('nginx (not on PATH: apt-get install nginx)');
    for (const engine of ENGINE_NAMES) proxies.push(await startNodeBalancer(engine, targets));

    const samples = new Map<ProxyUnderTest, { rps: number; cpu: number; errors: number; non2xx: number }[]>(proxies.map((p) => [p, []]));
    const job = (url: string, count: number): LoadJob => ({ url, path: '/health', connections, durationMs: 600_000, maxRequests: count });
    // Warm-up: connections open, JIT compiled, before anything is counted.
    for (const proxy of proxies) await drive(job(proxy.url, Math.min(5000, requests)));
    for (let round = 0; round < rounds; round++) {
      for (const proxy of proxies) {
        const before = cpuSeconds(proxy.pid, { withChildren: proxy.withChildren });
        const result = await drive(job(proxy.url, requests));
        const cpu = cpuSeconds(proxy.pid, { withChildren: proxy.withChildren }) - before;
        samples.get(proxy)!.push({ rps: result.rps, cpu: (cpu * 1e6) / Math.max(1, result.requests), errors: result.errors, non2xx: result.non2xx });
      }
    }
    const figures = proxies.map((proxy) => {
      const runs = samples.get(proxy)!;
      const cpus = runs.map((r) => r.cpu);
      return {
        label: proxy.label,
        rps: median(runs.map((r) => r.rps)),
        cpuUsPerRequest: median(cpus),
        cpuRange: [Math.min(...cpus), Math.max(...cpus)] as [number, number],
        errors: runs.reduce((sum, r) => sum + r.errors, 0),
        non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
      };
    });
    return { figures, missing };
  } finally {
    await Promise.all(proxies.map((proxy) => proxy.stop()));
  }
}

/** The table and the issue-13 targets, as lines to print. */
export function formatProxies(figures: ProxyFigures[], missing: string[]): string[] {
  const haproxy = figures.find((f) => f.label.startsWith('HAProxy'));
  const ratio = (value: number, base: number | undefined) => (base ? `${(value / base).toFixed(2)}×` : '-');
  const rows = figures.map((f) => [
    f.label,
    f.rps.toFixed(0),
    ratio(f.rps, haproxy?.rps),
    f.cpuUsPerRequest.toFixed(1),
    `${f.cpuRange[0].toFixed(1)}–${f.cpuRange[1].toFixed(1)}`,
    ratio(f.cpuUsPerRequest, haproxy?.cpuUsPerRequest),
    f.errors + f.non2xx,
  ]);
  const lines = table(['proxy', 'req/s', '÷ HAProxy', 'CPU µs/request', 'range', '÷ HAProxy', 'errors'], rows, [false, true, true, true, true, true, true]).split('\n');
  for (const what of missing) lines.push(`${what}: not measured`);
  const undici = figures.find((f) => f.label.includes('undici'));
  const httpProxy = figures.find((f) => f.label.includes('http-proxy'));
  if (undici && httpProxy) {
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
    const parts = [
      `undici engine: CPU/request ${(undici.cpuUsPerRequest / httpProxy.cpuUsPerRequest).toFixed(2)}× the http-proxy engine's (target ≤ 0.65: ${verdict(undici.cpuUsPerRequest <= 0.65 * httpProxy.cpuUsPerRequest)})`,
    ];
    if (haproxy) {
      parts.push(`${(undici.cpuUsPerRequest / haproxy.cpuUsPerRequest).toFixed(2)}× HAProxy's (target ≤ 4: ${verdict(undici.cpuUsPerRequest <= 4 * haproxy.cpuUsPerRequest)})`);
      parts.push(`req/s ${(undici.rps / haproxy.rps).toFixed(2)}× HAProxy's (target ≥ 0.6: ${verdict(undici.rps >= 0.6 * haproxy.rps)})`);
    }
    lines.push(parts.join('; '));
  }
  return lines;
}
