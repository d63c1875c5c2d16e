/**
 * A started cluster: N reference app servers as child processes, a balancer
 * in front (http, and https when asked), and the session store they share
 * or do not share.
 *
 *   virtual users ──▶ balancer ──▶ app-1 ┐
 *   (shop.example.test)        ──▶ app-2 ├──▶ own memory | one Redis
 *                              ──▶ app-N ┘
 */
import { randomBytes } from 'node:crypto';
import { SESSION_DEFAULTS, type BackendConfig, type SessionSettings } from '../servers/config.js';
import { startBackend, type BackendLogLine, type StartedBackend } from './backend/backend-process.js';
import { makeCertificate } from './balancer/certificate.js';
import { startBalancer, type ProxyRecord, type StartedBalancer, type TlsMaterial } from './balancer/proxy.js';
import { BALANCER_NAMES, createStrategy, type BalancerName } from './balancer/strategies.js';
import type { BalancerTarget } from './balancer/strategy.js';
import type { Site } from './client/network.js';
import { HarnessError } from './errors.js';
import { isScheduledFault, parseFault, validateFault } from './fault/faults.js';
import type { CookieFault } from './fault/fault.js';
import type { ClusterEvent, History } from './history/history.js';
import { deleteKeys, provisionRedis, type ProvisionedRedis } from './redis/provision.js';

/**
 * Where sessions live: each server's own memory; one Redis, records saved
 * whole (last writer wins, as connect-redis); or one Redis with optimistic
 * locking (WATCH/MULTI), which loses no concurrent update.
 */
export type StoreKind = 'memory' | 'redis' | 'redis-locking';
export const STORE_KINDS: readonly StoreKind[] = ['memory', 'redis', 'redis-locking'];

export interface ClusterOptions {
  /** Number of app servers. */
  servers?: number;
  store?: StoreKind;
  balancer?: BalancerName;
  /** The balancer also listens on https (TLS terminated there, backends stay http). */
  https?: boolean;
  /** The hostname virtual users reach the site by; resolved to 127.0.0.1 inside the harness. */
  site?: string;
  /** How the app servers handle sessions. */
  session?: Partial<SessionSettings>;
  /** Cookie faults at the balancer, e.g. `strip-set-cookie`, `cap-cookie=8192:431@0.5`. */
  faults?: readonly string[];
  /** A Redis to use instead of REDIS_URL or a spawned one. */
  redisUrl?: string;
  /** Receives the backends' log lines, besides the history. */
  logger?: { info(obj: object, msg?: string): void };
  /** Keep backend log lines in the history (default true). */
  recordBackendLog?: boolean;
  /** Keep every balancer record in history.proxy (default true); off for long runs that stream to disk. */
  recordProxyHistory?: boolean;
}

export const CLUSTER_DEFAULTS = {
  servers: 3,
  store: 'memory',
  balancer: 'round-robin',
  https: false,
  site: 'shop.example.test',
  recordBackendLog: true,
  recordProxyHistory: true,
} as const satisfies Partial<ClusterOptions>;

export interface ResolvedClusterOptions {
  servers: number;
  store: StoreKind;
  balancer: BalancerName;
  https: boolean;
  site: string;
  session: SessionSettings;
  faults: string[];
  recordBackendLog: boolean;
  recordProxyHistory: boolean;
}

export interface StartedCluster {
  /** The balancer's plain-http URL on loopback, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** The balancer's https URL on loopback, when https is on. */
  readonly httpsUrl: string | undefined;
  /** How virtual users reach the site by name: hostname → balancer ports, and the CA to trust. */
  readonly site: Site;
  readonly backends: readonly StartedBackend[];
  readonly redis: ProvisionedRedis | undefined;
  /** Redis key prefix of this cluster's sessions. */
  readonly keyPrefix: string;
  readonly history: History;
  readonly options: ResolvedClusterOptions;
  /** The site's URL as a user types it: `https://shop.example.test/` when https is on. */
  siteUrl(scheme?: 'http' | 'https'): string;
  /** SIGKILL a backend: its memory sessions are gone and the balancer stops sending to it. */
  killBackend(name: string, fault?: string): Promise<void>;
  /** Stop a backend and start a new process in its place: up again, its memory sessions gone. */
  restartBackend(name: string, fault?: string): Promise<void>;
  /** Take a backend out of rotation (new requests go elsewhere) or put it back. */
  drainBackend(name: string, drained: boolean, fault?: string): void;
  /** Records something that happened to the cluster, for the diagnosis. */
  recordEvent(event: Omit<ClusterEvent, 'time'>): void;
  /** The balancer's record of the request with this X-Slab-Request-Id, handed over once. */
  takeProxyRecord(requestId: string): ProxyRecord | undefined;
  /** Idempotent; a second call awaits the first. Never throws for dead children. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

function validate(options: ClusterOptions): { resolved: ResolvedClusterOptions; faults: CookieFault[] } {
  const defined = <T extends object>(o: T | undefined) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined));
  const top = { ...CLUSTER_DEFAULTS, ...defined(options) } as typeof CLUSTER_DEFAULTS & ClusterOptions;
  const session: SessionSettings = { ...SESSION_DEFAULTS, ...defined(options.session) };
  const fail = (field: string, value: unknown, expected: string): never => {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${field}: expected ${expected}, got ${JSON.stringify(value)}`);
  };
  if (!Number.isInteger(top.servers) || top.servers < 1 || top.servers > 64) fail('servers', top.servers, 'an integer from 1 to 64');
  if (!STORE_KINDS.includes(top.store)) fail('store', top.store, STORE_KINDS.join(' | '));
  if (!BALANCER_NAMES.includes(top.balancer)) fail('balancer', top.balancer, BALANCER_NAMES.join(' | '));
  if (typeof top.https !== 'boolean') fail('https', top.https, 'true or false');
  if (!HOSTNAME.test(top.site)) fail('site', top.site, 'a lower-case DNS name with a dot, e.g. shop.example.test');
  if (!TOKEN.test(session.cookieName)) fail('session.cookieName', session.cookieName, 'an RFC 6265 cookie name (a token)');
  for (const key of ['ttlMs', 'idleTimeoutMs', 'absoluteTimeoutMs', 'cookieMaxAgeMs'] as const) {
    const value = session[key];
    if (!(Number.isFinite(value) && value >= (key === 'ttlMs' ? 1 : 0))) fail(`session.${key}`, value, key === 'ttlMs' ? 'a positive number of ms' : 'a number of ms, 0 for off');
  }
  if (!['on', 'off', 'auto'].includes(session.secureCookie)) fail('session.secureCookie', session.secureCookie, 'on | off | auto');
  if (!['http', 'https'].includes(session.partnerLinkScheme)) fail('session.partnerLinkScheme', session.partnerLinkScheme, 'http | https');
  if (!['lax', 'strict', 'none'].includes(session.sameSite)) fail('session.sameSite', session.sameSite, 'lax | strict | none');
  for (const key of ['trustProxy', 'rolling', 'regenerateKeepsData'] as const) {
    if (typeof session[key] !== 'boolean') fail(`session.${key}`, session[key], 'true or false');
  }
  const faultSpecs = [...(options.faults ?? [])];
  // Cookie faults go to the balancer; scheduled ones are the runner's.
  for (const spec of faultSpecs) validateFault(spec, 'faults');
  const faults = faultSpecs.filter((spec) => !isScheduledFault(spec)).map((spec) => parseFault(spec, 'faults'));
  return {
    resolved: {
      servers: top.servers,
      store: top.store,
      balancer: top.balancer,
      https: top.https,
      site: top.site,
      session,
      faults: faultSpecs,
      recordBackendLog: top.recordBackendLog,
      recordProxyHistory: top.recordProxyHistory,
    },
    faults,
  };
}

export async function startCluster(input: ClusterOptions = {}): Promise<StartedCluster> {
  const { resolved: options, faults } = validate(input);
  const keyPrefix = `slab:${randomBytes(4).toString('hex')}:`;
  const history: History = {
    topology: {
      store: options.store,
      balancer: options.balancer,
      backends: [],
      cookieName: options.session.cookieName,
      https: options.https,
      site: options.site,
      session: options.session,
      faults: options.faults,
    },
    requests: [],
    proxy: [],
    backendLog: [],
    events: [],
  };

  const backends: StartedBackend[] = [];
  const targets: BalancerTarget[] = [];
  // Balancer records waiting for the runner to join them to the client's.
  const pendingProxyRecords = new Map<string, ProxyRecord>();
  let redis: ProvisionedRedis | undefined;
  let balancer: StartedBalancer | undefined;
  let stopping: Promise<void> | undefined;
  let stopped = false;
  const expectedExits = new Set<StartedBackend>();
  let configFor: (name: string) => BackendConfig | undefined = () => undefined;
  let startOne: (config: BackendConfig) => Promise<StartedBackend> = () => Promise.reject(new Error('cluster not started'));
  const recordEvent = (event: Omit<ClusterEvent, 'time'>) => history.events.push({ time: Date.now(), ...event });
  const find = (name: string) => {
    const index = backends.findIndex((backend) => backend.name === name);
    if (index < 0) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `backend: expected one of ${backends.map((b) => b.name).join(', ')}, got ${JSON.stringify(name)}`);
    return { index, backend: backends[index], target: targets.find((t) => t.name === name)! };
  };

  const stop = () =>
    (stopping ??= (async () => {
      stopped = true;
      await balancer?.stop();
      await Promise.all(backends.map((backend) => backend.stop()));
      if (redis?.source === 'REDIS_URL') await deleteKeys(redis.url, keyPrefix).catch(() => {});
      await redis?.stop();
      recordEvent({ kind: 'cluster-stopped' });
    })());

  try {
    // Redis, the certificate and the backends' own start-up overlap.
    const tlsReady: Promise<TlsMaterial | undefined> = options.https ? makeCertificate([options.site, `*.${options.site.split('.').slice(1).join('.')}`]) : Promise.resolve(undefined);
    if (options.store !== 'memory') redis = await provisionRedis({ url: input.redisUrl });

    const onLog = (line: BackendLogLine) => {
      if (options.recordBackendLog) history.backendLog.push(line);
      input.logger?.info(line, 'backend');
    };
    const configs: BackendConfig[] = Array.from({ length: options.servers }, (_, i) => ({
      ...options.session,
      name: `app-${i + 1}`,
      store: options.store === 'memory' ? 'memory' : 'redis',
      writes: options.store === 'redis-locking' ? 'locking' : 'whole',
      redisUrl: redis?.url,
      keyPrefix,
    }));
    configFor = (name) => configs.find((config) => config.name === name);
    startOne = async (config) => {
      const backend = await startBackend({ config, onLog });
      void backend.exited.then(() => {
        const target = targets.find((t) => t.name === backend.name);
        // A backend that exits on its own (or is killed) takes no more requests.
        if (target && target.url === backend.url) target.up = false;
        if (!stopped && !expectedExits.delete(backend)) recordEvent({ kind: 'backend-exited', backend: backend.name });
      });
      return backend;
    };
    const started = await Promise.allSettled(configs.map((config) => startOne(config)));
    for (const result of started) if (result.status === 'fulfilled') backends.push(result.value);
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    history.topology.backends = backends.map((backend) => backend.name);

    const tls = await tlsReady;
    targets.push(...backends.map((backend, index) => ({ name: backend.name, url: backend.url, index, up: true, inFlight: 0 })));
    balancer = await startBalancer({
      targets,
      strategy: createStrategy(options.balancer),
      onRecord: (record: ProxyRecord) => {
        if (record.requestId) pendingProxyRecords.set(record.requestId, record);
        if (options.recordProxyHistory) history.proxy.push(record);
      },
      faults,
      tls,
    });
    recordEvent({ kind: 'cluster-started' });

    const site: Site = { hostname: options.site, httpPort: balancer.httpPort, httpsPort: balancer.httpsPort, ca: tls?.cert };
    const killBackend = async (name: string, fault?: string) => {
      const { backend, target } = find(name);
      // Recorded when it goes down, before the process is reaped: requests from then on see it gone.
      target.up = false;
      recordEvent({ kind: 'backend-killed', backend: name, fault, detail: `${name} killed (SIGKILL)` });
      expectedExits.add(backend);
      await backend.kill();
    };
    const restartBackend = async (name: string, fault?: string) => {
      const { index, backend, target } = find(name);
      target.up = false;
      recordEvent({ kind: 'backend-restarted', backend: name, fault, detail: `${name} restarted (a new process; its memory is empty)` });
      expectedExits.add(backend);
      await backend.stop();
      const fresh = await startOne(configFor(name)!);
      backends[index] = fresh;
      target.url = fresh.url;
      target.up = true;
    };
    const drainBackend = (name: string, drained: boolean, fault?: string) => {
      const { target } = find(name);
      target.up = !drained;
      recordEvent({ kind: drained ? 'backend-drained' : 'backend-undrained', backend: name, fault, detail: `${name} ${drained ? 'taken out of rotation' : 'back in rotation'}` });
    };
    return {
      takeProxyRecord: (requestId: string) => {
        const record = pendingProxyRecords.get(requestId);
        pendingProxyRecords.delete(requestId);
        return record;
      },
      killBackend,
      restartBackend,
      drainBackend,
      recordEvent,
      url: balancer.url,
      httpsUrl: balancer.httpsUrl,
      site,
      backends,
      redis,
      keyPrefix,
      history,
      options,
      siteUrl: (scheme = options.https ? 'https' : 'http') => `${scheme}://${options.site}/`,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
