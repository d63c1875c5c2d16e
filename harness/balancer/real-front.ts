/**
 * A real balancer in front of the backends — nginx or HAProxy from PATH —
 * with a recording tap in front of each backend, so the history still has
 * what every backend received and returned.
 *
 *   client ──▶ nginx | HAProxy ──▶ tap-1 ──▶ app-1
 *                              ──▶ tap-N ──▶ app-N
 *
 * The config comes from the template in docker/ (one source with the
 * compose topology) or from the user's own file (--balancer-config), with
 * `{{listen}}`, `{{servers}}` … filled in; it is checked with the
 * balancer's own validator (nginx -t, haproxy -c) before it starts, and a
 * refusal is SLAB_ERR_BALANCER_CONFIG (exit 2) quoting the balancer.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HarnessError } from '../errors.js';
import type { TapRecord } from '../history/history.js';
import { startTap, type StartedTap } from '../tap/tap.js';
import { timeoutBudgetMs } from '../util/budget.js';
import { freePort } from '../util/net.js';
import { checkConfig, indent, requireBinary, spawnBalancer, type BalancerProcess } from './balancer-process.js';
import { placeholdersOf, pointAtSource, renderTemplate } from './config-template.js';
import { haproxy } from './haproxy.js';
import { nginx, NGINX_FAULT_CONFIGS } from './nginx.js';
import type { TlsMaterial } from './proxy.js';
import type { BalancerTarget } from './strategy.js';
import type { RealBalancerName } from './names.js';

export { isRealBalancer, REAL_BALANCER_NAMES, type RealBalancerName } from './names.js';

/** What a template's placeholders are filled from. */
export interface RenderContext {
  listen: string;
  tls?: { listen: string; certFile: string; keyFile: string; pemFile: string };
  taps: readonly { backend: string; port: number }[];
  prefix: string;
  cookieName: string;
}

/** What differs between nginx and HAProxy; the rest is real-front.ts. */
export interface RealBalancerFlavour {
  readonly kind: 'nginx' | 'haproxy';
  readonly strategies: readonly string[];
  /** The generated config's template (docker/…). */
  readonly template: string;
  values(strategy: string, context: RenderContext): Record<string, string>;
  checkArgs(prefix: string, configFile: string): string[];
  runArgs(prefix: string, configFile: string): string[];
  /** A file the balancer writes once all its listeners are bound, if it writes one. */
  readyFile?(prefix: string): string;
  /** How users know the validator, for messages. */
  readonly checkCommand: string;
}

const FLAVOURS = { nginx, haproxy } as const;

/** Placeholders a config must have for the harness to put itself in: where to listen, where the backends are. */
const REQUIRED = ['listen', 'servers'];

export interface StartRealFrontOptions {
  name: RealBalancerName;
  targets: readonly BalancerTarget[];
  /** Also listen on https with this key and certificate. */
  tls?: TlsMaterial;
  /** The user's own nginx.conf / haproxy.cfg with placeholders, instead of the template. */
  configFile?: string;
  /**
   * Cookie faults of the run (`strip-cookie` …). A real balancer cannot run
   * session-lab's faults: with nginx each picks the config that causes it
   * (docker/nginx/faults/); with the user's own config, that config stands
   * in for them; otherwise they are refused.
   */
  cookieFaults?: readonly string[];
  /** The session cookie's name (nginx:hash-cookie hashes it). */
  cookieName: string;
  onTap: (record: TapRecord) => void;
  /** How long the balancer may take to listen (ms); the time budget unless given. */
  timeoutMs?: number;
}

export interface StartedRealFront {
  readonly kind: 'nginx' | 'haproxy';
  readonly name: RealBalancerName;
  readonly url: string;
  readonly httpPort: number;
  readonly httpsUrl: string | undefined;
  readonly httpsPort: number | undefined;
  readonly taps: readonly StartedTap[];
  readonly pid: number;
  /** The config file the balancer runs: the template, the user's file, or the one a cookie fault chose. */
  readonly configSource: string;
  /** The balancer's error log so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Reads and checks the placeholders of a config template; SLAB_ERR_BALANCER_CONFIG naming the file when it cannot serve. */
async function readTemplate(flavour: RealBalancerFlavour, file: string, user: boolean, https: boolean): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new HarnessError('SLAB_ERR_BALANCER_CONFIG', `--balancer-config: cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  const used = placeholdersOf(text);
  const known = ['listen', 'listen_tls', 'servers', 'balance', 'prefix'];
  const unknown = used.filter((name) => !known.includes(name));
  const missing = REQUIRED.filter((name) => !used.includes(name));
  const where = user ? `--balancer-config ${file}` : file;
  if (unknown.length)
    throw new HarnessError('SLAB_ERR_BALANCER_CONFIG', `${where}: unknown placeholder ${unknown.map((n) => `{{${n}}}`).join(', ')}; expected only ${known.map((n) => `{{${n}}}`).join(', ')}`);
  if (missing.length) {
    throw new HarnessError(
      'SLAB_ERR_BALANCER_CONFIG',
      `${where}: expected the placeholder${missing.length > 1 ? 's' : ''} ${missing.map((n) => `{{${n}}}`).join(' and ')} (where ${flavour.kind} listens and the upstream servers), as in ${flavour.template}`,
    );
  }
  if (https && !used.includes('listen_tls')) {
    throw new HarnessError('SLAB_ERR_BALANCER_CONFIG', `${where}: this cluster has an https front, so the config needs {{listen_tls}} (the https listener), as in ${flavour.template}`);
  }
  return text;
}

/** Which config stands for the run's cookie faults, if any; SLAB_ERR_OPTION_INVALID when none can. */
export function configForFaults(name: RealBalancerName, faults: readonly string[], configFile: string | undefined): string | undefined {
  if (!faults.length || configFile !== undefined) return configFile;
  const kind = name.split(':')[0];
  const known = kind === 'nginx' ? NGINX_FAULT_CONFIGS : {};
  const usable = faults.length === 1 ? known[faults[0]] : undefined;
  if (usable) return usable;
  const offer = Object.keys(known).length ? `; nginx has a config for ${Object.keys(known).join(', ')} (docker/nginx/faults/)` : '';
  throw new HarnessError(
    'SLAB_ERR_OPTION_INVALID',
    `faults: ${faults.map((f) => JSON.stringify(f)).join(', ')} act${faults.length > 1 ? '' : 's'} in session-lab's own balancer, not in ${kind}; expected --balancer-config with a ${kind} config that causes ${faults.length > 1 ? 'them' : 'it'}${offer}`,
  );
}

/** What a run's front will run: the binary, the flavour, and the config template with where it came from. */
async function prepare(options: Pick<StartRealFrontOptions, 'name' | 'configFile' | 'cookieFaults'>, https: boolean) {
  const [kind, strategy = 'round-robin'] = options.name.split(':') as ['nginx' | 'haproxy', string?];
  const flavour = FLAVOURS[kind];
  const configFile = configForFaults(options.name, options.cookieFaults ?? [], options.configFile);
  const binary = requireBinary(kind);
  const user = configFile !== undefined;
  const source = user ? resolve(configFile) : flavour.template;
  const template = await readTemplate(flavour, source, user, https);
  return { kind, strategy, flavour, binary, user, source, template };
}

/** Writes the rendered config and checks it with the balancer's validator; SLAB_ERR_BALANCER_CONFIG (exit 2) quoting it. */
async function writeChecked(prepared: Awaited<ReturnType<typeof prepare>>, values: Record<string, string>, prefix: string, rendered: string): Promise<void> {
  const { flavour, binary, user, source, template } = prepared;
  const config = renderTemplate(template, values);
  await writeFile(rendered, `${config.text}\n`);
  const check = await checkConfig(binary, flavour.checkArgs(prefix, rendered));
  if (!check.ok) {
    // nginx prefixes each line with a timestamp and its pid: noise in a message about the user's file.
    const said = pointAtSource(check.output, rendered, source, config.sourceLine).replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: /gm, '$1 ');
    throw new HarnessError('SLAB_ERR_BALANCER_CONFIG', `${user ? `--balancer-config ${source}` : source}: ${flavour.checkCommand} refused the config:\n${indent(said)}`);
  }
}

/**
 * Everything about a real front that can be refused before anything starts:
 * the binary on PATH, the cookie faults it can stand for, the config's
 * placeholders, and the balancer's own check of the config rendered with
 * stand-in ports (the https listener is checked when the front starts,
 * with the run's certificate).
 */
export async function checkRealFront(options: Pick<StartRealFrontOptions, 'name' | 'configFile' | 'cookieFaults' | 'cookieName'> & { servers: number; https: boolean }): Promise<void> {
  const prepared = await prepare(options, options.https);
  const prefix = await mkdtemp(join(tmpdir(), `slab-${prepared.kind}-check-`));
  try {
    const context: RenderContext = {
      listen: '127.0.0.1:1',
      taps: Array.from({ length: options.servers }, (_, i) => ({ backend: `app-${i + 1}`, port: 2 + i })),
      prefix,
      cookieName: options.cookieName,
    };
    await writeChecked(prepared, prepared.flavour.values(prepared.strategy, context), prefix, join(prefix, prepared.kind === 'nginx' ? 'nginx.conf' : 'haproxy.cfg'));
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
}

export async function startRealFront(options: StartRealFrontOptions): Promise<StartedRealFront> {
  const prepared = await prepare(options, options.tls !== undefined);
  const { kind, strategy, flavour, binary, source } = prepared;

  const taps: StartedTap[] = [];
  let balancer: BalancerProcess | undefined;
  let prefix: string | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await balancer?.stop();
      await Promise.all(taps.map((tap) => tap.stop()));
      // The key of the throwaway certificate lived here too.
      if (prefix) await rm(prefix, { recursive: true, force: true });
    })());

  try {
    for (const target of options.targets) taps.push(await startTap({ target, onRecord: options.onTap }));
    prefix = await mkdtemp(join(tmpdir(), `slab-${kind}-`));
    // nginx may drop privileges for its temp files when run as root.
    await chmod(prefix, 0o755);
    let tlsFiles: { certFile: string; keyFile: string; pemFile: string } | undefined;
    if (options.tls) {
      tlsFiles = { certFile: join(prefix, 'site.crt'), keyFile: join(prefix, 'site.key'), pemFile: join(prefix, 'site.pem') };
      await writeFile(tlsFiles.certFile, options.tls.cert, { mode: 0o600 });
      await writeFile(tlsFiles.keyFile, options.tls.key, { mode: 0o600 });
      await writeFile(tlsFiles.pemFile, `${options.tls.cert.trim()}\n${options.tls.key.trim()}\n`, { mode: 0o600 });
    }
    const rendered = join(prefix, kind === 'nginx' ? 'nginx.conf' : 'haproxy.cfg');

    // A port free a moment ago may be taken by the time the balancer binds: try again with new ones.
    for (let attempt = 1; ; attempt++) {
      const httpPort = await freePort();
      const httpsPort = options.tls ? await freePort() : undefined;
      const context: RenderContext = {
        listen: `127.0.0.1:${httpPort}`,
        tls: tlsFiles && httpsPort ? { listen: `127.0.0.1:${httpsPort}`, ...tlsFiles } : undefined,
        taps: taps.map((tap) => ({ backend: tap.backend, port: tap.port })),
        prefix,
        cookieName: options.cookieName,
      };
      await writeChecked(prepared, flavour.values(strategy, context), prefix, rendered);
      try {
        balancer = await spawnBalancer({
          what: `${kind} (${binary}, config from ${source})`,
          binary,
          args: flavour.runArgs(prefix, rendered),
          ports: httpsPort ? [httpPort, httpsPort] : [httpPort],
          readyFile: flavour.readyFile?.(prefix),
          timeoutMs: options.timeoutMs ?? timeoutBudgetMs(),
        });
      } catch (error) {
        // Retry only when one of our own ports was taken; a port fixed in the user's config stays taken.
        const ours = [httpPort, httpsPort].filter((p) => p !== undefined).some((p) => (error as Error).message.includes(`:${p} failed (98`) || (error as Error).message.includes(`:${p}]`));
        if (attempt < 3 && /in use/i.test((error as Error).message) && ours) continue;
        throw error;
      }
      const started = balancer;
      return {
        kind,
        name: options.name,
        url: `http://127.0.0.1:${httpPort}`,
        httpPort,
        httpsUrl: httpsPort ? `https://127.0.0.1:${httpsPort}` : undefined,
        httpsPort,
        taps,
        configSource: source,
        pid: started.pid,
        log: () => started.log(),
        stop,
      };
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
