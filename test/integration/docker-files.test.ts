/**
 * docker/: the compose topology validates, and the balancer configs it
 * renders with docker/render-config.sh from the harness's own templates are
 * accepted by nginx and HAProxy. (The Dockerfile is built by the container
 * runtime's tests, which run its image.)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../../harness/util/net.js';
import { findOnPath } from '../../harness/util/paths.js';

const run = promisify(execFile);
const DOCKER_DIR = join(import.meta.dirname, '..', '..', 'docker');
const work = mkdtempSync(join(tmpdir(), 'slab-docker-files-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A tool the test needs: missing in CI is a failure (.ci/run installs it), elsewhere a loud skip. */
function needs(binary: string): boolean {
  if (findOnPath(binary)) return true;
  if (process.env.CI) throw new Error(`${binary} is not on PATH: .ci/run installs it with apt-get`);
  process.stderr.write(`\n!!! SKIPPED a docker/ check: ${binary} is not on PATH\n\n`);
  return false;
}

const render = (template: string, output: string, ...pairs: string[]) => run('sh', [join(DOCKER_DIR, 'render-config.sh'), join(DOCKER_DIR, template), output, ...pairs]);

describe.concurrent('docker/ files', () => {
  test('compose.yaml validates with docker-compose, on memory and on Redis sessions', async (context) => {
    if (!needs('docker-compose')) return context.skip();
    await Promise.all(
      ['memory', 'redis'].map(async (store) => {
        const { stdout } = await run('docker-compose', ['-f', join(DOCKER_DIR, 'compose.yaml'), '--profile', 'haproxy', 'config'], {
          env: { ...process.env, SESSION_STORE: store },
        });
        const config = parse(stdout) as { services: Record<string, { environment?: Record<string, string> }> };
        expect(Object.keys(config.services).sort()).toEqual(['app-1', 'app-2', 'app-3', 'balancer', 'haproxy', 'redis']);
        expect(config.services['app-2'].environment).toMatchObject({ BACKEND_ID: 'app-2', SESSION_STORE: store, PORT: '3000' });
      }),
    );
  });

  test('the nginx template rendered as compose renders it passes nginx -t', async (context) => {
    if (!needs('nginx')) return context.skip();
    const conf = join(work, 'nginx.conf');
    await render(
      'nginx/nginx.conf.template',
      conf,
      `listen=127.0.0.1:${await freePort()}`,
      'listen_tls=',
      `prefix=${work}`,
      'balance=ip_hash;',
      'servers=server 127.0.0.1:3001;\\nserver 127.0.0.1:3002;',
    );
    expect(readFileSync(conf, 'utf8')).toMatch(/ip_hash;\n\s+server 127\.0\.0\.1:3001;\n\s+server 127\.0\.0\.1:3002;/);
    const { stderr } = await run('nginx', ['-t', '-p', work, '-c', conf, '-e', join(work, 'error.log'), '-g', `pid ${join(work, 'nginx.pid')};`]);
    expect(stderr).toContain('test is successful');
  });

  test('the HAProxy template rendered as compose renders it passes haproxy -c', async (context) => {
    if (!needs('haproxy')) return context.skip();
    const cfg = join(work, 'haproxy.cfg');
    await render(
      'haproxy/haproxy.cfg.template',
      cfg,
      `listen=127.0.0.1:${await freePort()}`,
      'listen_tls=',
      'balance=balance source',
      'servers=server app-1 127.0.0.1:3001 check\\nserver app-2 127.0.0.1:3002 check',
    );
    const { stdout } = await run('haproxy', ['-c', '-f', cfg]);
    expect(stdout).toContain('Configuration file is valid');
  });

  test('a placeholder left without a value is refused, naming it', async () => {
    const error = await render('haproxy/haproxy.cfg.template', join(work, 'partial.cfg'), 'listen=127.0.0.1:0').catch((e: unknown) => e);
    expect((error as { code?: number }).code).toBe(2);
    expect((error as { stderr?: string }).stderr).toMatch(/no value for \{\{(listen_tls|balance|servers)\}\}/);
  });
});
