/**
 * A started cluster: N app servers, a front (balancer) before them (http,
 * and https when asked), and the session store they share or do not share.
 * Each part comes through its own seam, so the kinds of each can grow
 * without this file growing:
 *
 *   virtual users ──▶ front ──▶ app-1 ┐
 *   (shop.example.test)     ──▶ app-2 ├──▶ store (store/provision-store.ts)
 *   (balancer/front.ts)     ──▶ app-N ┘
 *                     (backend/launcher.ts)
 */
import { ClusterSchema } from './scenario/schema.js';
import { randomBytes } from 'node:crypto';
import { SESSION_DEFAULTS, type SessionSettings } from '../servers/config.js';
import type { BackendLogLine, StartedBackend } from './backend/backend-process.js';
import { backendEnv, type BackendLauncher } from './backend/launcher.js';
import { Replicas } from './backend/replicas.js';
import { referenceLauncherFor, RUNTIMES, type Runtime } from './backend/runtime.js';
import { commandLauncher, validateApp, type AppCommand } from './backend/command-launcher.js';
import { makeCertificate } from './balancer/certificate.js';
import { ENGINE_NAMES, type EngineName } from './balancer/engine/engine.js';
import { isEngineName } from './balancer/engine/engines.js';
import { checkFront, startFront, type FrontName, type StartedFront } from './balancer/front.js';
import { isRealBalancer, REAL_BALANCER_NAMES } from './balancer/real-front.js';
import { BALANCER_NAMES } from './balancer/strategies.js';
import { isSeed, MAX_SEED, newSeed } from './util/seeded.js';
import type { ProxyRecord, TlsMaterial } from './balancer/proxy.js';
import type { Site } from './client/network.js';
import type { ClusterControl } from './cluster-control.js';
import { HarnessError } from './errors.js';
import { CLUSTER_DEFAULTS } from './cluster-defaults.js';
import { isScheduledFault, parseFault } from './fault/faults.js';
import type { CookieFault } from './fault/fault.js';
import type { ClusterEvent, History, TapRecord } from './history/history.js';
import type { ProvisionedRedis } from './redis/provision.js';
import { provisionStore, type ProvisionedStore, type StoreKind } from './store/provision-store.js';

export { STORE_KINDS, type StoreKind } from './store/store-kinds.js';

export interface ClusterOptions {
  /** Number of app servers. */
  servers?: number;
  store?: StoreKind;
  balancer?: FrontName;
  /** The user's own nginx.conf / haproxy.cfg, with placeholders, for an nginx or haproxy balancer. */
  balancerConfig?: string;
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
  /** How the app servers are started (default: the bundled reference server). */
  launcher?: BackendLauncher;
  /** `process` (default) or `docker`: the reference server's replicas and a Redis session-lab starts run as containers. */
  runtime?: Runtime;
  /** How the balancer forwards requests: `undici` (default) or `http-proxy`. */
  proxyEngine?: EngineName;
  /** Run the user's app from a command instead of the reference server (backend/command-launcher.ts). */
  app?: AppCommand;
  /**
   * Makes session-lab's own balancer replayable: its choices and fault
   * probabilities are drawn from the seed and each request's identity (an
   * integer 0 … 2^32-1; drawn at random when not given, and reported).
   * Refused for nginx and HAProxy, which choose for themselves.
   */
  seed?: number;
}

export { CLUSTER_DEFAULTS } from './cluster-defaults.js';

export interface ResolvedClusterOptions {
  servers: number;
  store: StoreKind;
  balancer: FrontName;
  balancerConfig?: string;
  https: boolean;
  site: string;
  session: SessionSettings;
  faults: string[];
  recordBackendLog: boolean;
  recordProxyHistory: boolean;
  runtime: Runtime;
  proxyEngine: EngineName;
  app: AppCommand | undefined;
  /** The seed session-lab's own balancer draws from; undefined behind nginx / HAProxy. */
  seed?: number;
}

export interface StartedCluster extends ClusterControl {
  /** The balancer's plain-http URL on loopback, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** The balancer's https URL on loopback, when https is on. */
  readonly httpsUrl: string | undefined;
  /** How virtual users reach the site by name: hostname → balancer ports, and the CA to trust. */
  readonly site: Site;
  readonly backends: readonly StartedBackend[];
  readonly redis: ProvisionedRedis | undefined;
  /** The session store and what the backends were told about it. */
  readonly store: ProvisionedStore;
  /** Redis key prefix of this cluster's sessions. */
  readonly keyPrefix: string;
  readonly history: History;
  readonly options: ResolvedClusterOptions;
  /** The site's URL as a user types it: `https://shop.example.test/` when https is on. */
  siteUrl(scheme?: 'http' | 'https'): string;
  /** The balancer's record of the request with this X-Slab-Request-Id, handed over once. */
  takeProxyRecord(requestId: string): ProxyRecord | undefined;
  /** What the backend's recording tap saw of the request with this X-Slab-Request-Id (nginx, HAProxy fronts), handed over once. */
  takeTapRecord(requestId: string): TapRecord | undefined;
  /** Idempotent; a second call awaits the first. Never throws for dead children. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

function validate(options: ClusterOptions): { resolved: ResolvedClusterOptions; faults: CookieFault[] } {
  const defined = <T extends object>(o: T | undefined) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined));
  const top = { ...CLUSTER_DEFAULTS, ...defined(options) } as typeof CLUSTER_DEFAULTS & ClusterOptions;
  const session: SessionSettings = { ...SESSION_DEFAULTS, ...defined(options.session) };
  const fail = (field: string, value: unknown, expected: string): never => {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${field}: expected ${expected}, got ${JSON.stringify(value)}`);
  };
  // What a scenario's cluster may say is written down once, in the scenario schema; only the library's own options are checked here.
  const checked = ClusterSchema.safeParse({
    servers: top.servers,
    store: top.store,
    balancer: top.balancer,
    https: top.https,
    session: defined(options.session),
    faults: options.faults ? [...options.faults] : undefined,
  });
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const value = issue.path.reduce<unknown>((at, key) => (at as Record<PropertyKey, unknown> | undefined)?.[key], { ...top, session: options.session, faults: options.faults });
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${issue.path.join('.')}: ${issue.message}, got ${JSON.stringify(value)}`);
  }
  if (top.balancerConfig !== undefined && !isRealBalancer(top.balancer))
    fail('balancerConfig', top.balancerConfig, `a balancer that reads a config file (${REAL_BALANCER_NAMES.join(' | ')}), not ${top.balancer}`);
  if (!isEngineName(top.proxyEngine)) fail('proxyEngine', top.proxyEngine, ENGINE_NAMES.join(' | '));
  if (!RUNTIMES.includes(top.runtime)) fail('runtime', top.runtime, RUNTIMES.join(' | '));
  if (!HOSTNAME.test(top.site)) fail('site', top.site, 'a lower-case DNS name with a dot, e.g. shop.example.test');
  if (top.seed !== undefined && !isSeed(top.seed)) fail('seed', top.seed, `an integer from 0 to ${MAX_SEED}`);
  if (top.seed !== undefined && isRealBalancer(top.balancer))
    fail('seed', top.seed, `a balancer session-lab runs (${BALANCER_NAMES.join(' | ')}): ${top.balancer} chooses backends itself, so a seed cannot replay its routing`);
  const faultSpecs = [...(options.faults ?? [])];
  // Cookie faults go to the balancer; scheduled ones are the runner's.
  const faults = faultSpecs.filter((spec) => !isScheduledFault(spec)).map((spec) => parseFault(spec, 'faults'));
  return {
    resolved: {
      servers: top.servers,
      store: top.store,
      balancer: top.balancer,
      ...(top.balancerConfig !== undefined ? { balancerConfig: top.balancerConfig } : {}),
      https: top.https,
      site: top.site,
      session,
      faults: faultSpecs,
      recordBackendLog: top.recordBackendLog,
      recordProxyHistory: top.recordProxyHistory,
      runtime: top.runtime,
      proxyEngine: top.proxyEngine,
      app: options.app && validateApp(options.app),
      ...(isRealBalancer(top.balancer) ? {} : { seed: top.seed ?? newSeed() }),
    },
    faults,
  };
}

export async function startCluster(input: ClusterOptions = {}): Promise<StartedCluster> {
  const { resolved: options, faults } = validate(input);
  if (input.app && input.launcher) throw new HarnessError('SLAB_ERR_OPTION_INVALID', 'app: expected either app or launcher, got both');
  const launcher = input.launcher ?? (options.app ? commandLauncher(options.app) : await referenceLauncherFor(options.runtime));
  const keyPrefix = `slab:${randomBytes(4).toString('hex')}:`;
  const history: History = {
    topology: {
      store: options.store,
      balancer: options.balancer,
      launcher: launcher.kind,
      backends: [],
      // A foreign app's session cookie is detected from its first Set-Cookie unless named.
      cookieName: launcher.kind.startsWith('reference') ? options.session.cookieName : (options.app?.cookieName ?? ''),
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
  const recordEvent = (event: Omit<ClusterEvent, 'time'>): ClusterEvent => {
    const recorded = { time: Date.now(), ...event };
    history.events.push(recorded);
    return recorded;
  };
  const onLog = (line: BackendLogLine) => {
    if (options.recordBackendLog) history.backendLog.push(line);
    input.logger?.info(line, 'backend');
  };

  let store: ProvisionedStore | undefined;
  let replicas: Replicas | undefined;
  let front: StartedFront | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (replicas) replicas.stopped = true;
      await front?.stop();
      await replicas?.stopAll();
      await store?.stop();
      recordEvent({ kind: 'cluster-stopped' });
    })());

  try {
    // nginx / HAProxy: binary, config and faults checked before anything starts.
    await checkFront({ balancer: options.balancer, balancerConfig: options.balancerConfig, faults, cookieName: options.session.cookieName, servers: options.servers, https: options.https });
    // The store, the certificate and the backends' own start-up overlap.
    const tlsReady: Promise<TlsMaterial | undefined> = options.https ? makeCertificate([options.site, `*.${options.site.split('.').slice(1).join('.')}`]) : Promise.resolve(undefined);
    store = await provisionStore(options.store, { redisUrl: input.redisUrl, keyPrefix, container: options.runtime === 'docker' });
    const provisioned = store;
    replicas = new Replicas(launcher, recordEvent);
    await replicas.startAll(
      Array.from({ length: options.servers }, (_, index) => {
        const name = `app-${index + 1}`;
        return { name, index, config: { ...options.session, ...provisioned.backendConfig, name, site: options.site }, env: backendEnv(name, provisioned.env), onLog };
      }),
    );
    history.topology.backends = replicas.backends.map((backend) => backend.name);

    // Balancer records waiting for the runner to join them to the client's.
    const pendingProxyRecords = new Map<string, ProxyRecord>();
    const pendingTapRecords = new Map<string, TapRecord>();
    front = await startFront({
      balancer: options.balancer,
      balancerConfig: options.balancerConfig,
      cookieName: options.session.cookieName,
      onTap: (record: TapRecord) => {
        if (record.requestId) pendingTapRecords.set(record.requestId, record);
      },
      targets: replicas.targets,
      faults,
      tls: await tlsReady,
      onRecord: (record: ProxyRecord) => {
        if (record.requestId) pendingProxyRecords.set(record.requestId, record);
        if (options.recordProxyHistory) history.proxy.push(record);
      },
      engine: options.proxyEngine,
      seed: options.seed,
    });
    recordEvent({ kind: 'cluster-started' });

    const tls = await tlsReady;
    const site: Site = { hostname: options.site, httpPort: front.httpPort, httpsPort: front.httpsPort, ca: tls?.cert };
    const running = replicas;
    // Up: from now on a clean stop may keep healthy reference backends warm for the next cluster.
    running.recycle = true;
    return {
      takeProxyRecord: (requestId: string) => {
        const record = pendingProxyRecords.get(requestId);
        pendingProxyRecords.delete(requestId);
        return record;
      },
      takeTapRecord: (requestId: string) => {
        const record = pendingTapRecords.get(requestId);
        pendingTapRecords.delete(requestId);
        return record;
      },
      get backendNames() {
        return running.backends.map((backend) => backend.name);
      },
      killBackend: (name, fault) => running.kill(name, fault),
      restartBackend: (name, fault) => running.restart(name, fault),
      pauseBackend: (name, ms, fault) => running.pause(name, ms, fault),
      drainBackend: (name, drained, fault) => running.drain(name, drained, fault),
      recordEvent,
      url: front.url,
      httpsUrl: front.httpsUrl,
      site,
      backends: running.backends,
      redis: provisioned.redis,
      topology: provisioned.topology,
      store: provisioned,
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
