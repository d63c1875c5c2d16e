#!/usr/bin/env node
/**
 * The session-lab command line: a thin layer over harness/index.ts.
 *
 * Exit codes: 0 every expectation held; 1 an expectation failed (an
 * unexpected reset is one); 2 bad input (file, flag, value); 3 missing
 * environment (Redis, Docker); 130 interrupted.
 */
import { parseArgs } from 'node:util';
// Only what checks the input is loaded up front: a bad flag or a missing file is refused
// before anything that starts, runs, diagnoses or reports is even parsed (those are the
// dynamic import()s below; rolldown makes them chunks next to main.js).
import { ENGINE_NAMES, type EngineName } from '../balancer/engine/engine.js';
import { BALANCER_NAMES, FRONT_NAMES, isRealBalancer, REAL_BALANCER_NAMES, SEED_REPLAYS, type FrontName } from '../balancer/names.js';
import { MAX_SEED, newSeed } from '../util/seeded.js';
import type { ClusterOptions, StartedCluster } from '../cluster.js';
import { CLUSTER_DEFAULTS } from '../cluster-defaults.js';
import { STORE_KINDS, type StoreKind } from '../store/store-kinds.js';
import { checkRedisUrlEnv } from '../redis/redis-url.js';
import { HarnessError, isHarnessError } from '../errors.js';
import { CLIENT_KINDS, checkClientKind, RUN_DEFAULTS, type ClientKind } from '../runner/run-options.js';
import type { RunProgress } from '../runner/run.js';
import { validateFault, FAULT_USAGE } from '../fault/faults.js';
import { builtInScenarioNames, locateScenario } from '../scenario/locate.js';
import type { LoadedScenario } from '../scenario/load.js';
import { prebuiltScenario } from '../scenario/prebuilt.js';
import { planRun } from '../scenario/plan.js';
import { prepareHistoryFile } from '../history/history-file.js';
import { parseDuration } from '../util/duration.js';
import { parseBudget, setTimeoutBudget, timeoutBudgetMs } from '../util/budget.js';
import { validateApp, type AppCommand } from '../backend/command-launcher.js';
import { expressServerApp } from '../backend/express-server.js';
import { checkOutputs } from './output-check.js';
import { RUNTIMES, type Runtime } from '../backend/runtime.js';
import { containerLauncher } from '../backend/container-launcher.js';
import type { BackendLauncher } from '../backend/launcher.js';
import { mapStack } from '../util/stack-map.js';
import { stopIdleBackends } from '../backend/warm-pool.js';
import { COMPARE_FORMATS, type CompareFormat } from '../compare/formats.js';

/**
 * A scenario read and validated: the YAML parser and the schema are loaded only for a file that exists,
 * and not for a built-in scenario the build validated (scenario/prebuilt.ts).
 */
async function loadScenario(nameOrPath: string): Promise<LoadedScenario> {
  const file = locateScenario(nameOrPath);
  const prebuilt = await prebuiltScenario(file);
  if (prebuilt) return prebuilt;
  const { loadScenarioFile } = await import('../scenario/load.js');
  return loadScenarioFile(file);
}

const USAGE = `session-lab — reproduce and explain web session resets behind a load balancer

Usage:
  session-lab run <scenario name or file> [options]
  session-lab compare --scenario X [--stores a,b] [--balancers a,b] [--faults none,F] [--servers N]
                      [--runtime process|docker] [--users N] [--requests N] [--fixed] [--server reference|express]
                      [--format table|markdown|json|csv] [--proxy-engine E] [--seed N]
                      [--report DIR] [--summary FILE]
  session-lab diagnose <history file> [--json | --report DIR] [--junit FILE] [--summary FILE]
  session-lab scenarios
  session-lab demo
  session-lab help

Options for run:
  --servers N          app servers behind the balancer (default 3)
  --store KIND         where sessions live: ${STORE_KINDS.join(' | ')} (default memory)
  --balancer NAME      ${BALANCER_NAMES.join(' | ')} (default round-robin),
                       or a real one from PATH: ${REAL_BALANCER_NAMES.join(' | ')}
  --balancer-config F  your own nginx.conf / haproxy.cfg for --balancer nginx… / haproxy…, with
                       {{listen}} and {{servers}} placeholders (see docker/nginx/nginx.conf.template)
  --runtime KIND       ${RUNTIMES.join(' | ')}: docker runs the servers and Redis as containers
                       through testcontainers (needs DOCKER_HOST; see docker/README.md)
  --app-image IMAGE    run your app's image NAME[:TAG] as the servers (containers, host network;
                       each replica gets PORT, HOST=127.0.0.1, BACKEND_ID, REDIS_URL)
  --app-port P         the port the image's app listens on when it does not read PORT (one server only)
  --proxy-engine E     how session-lab's own balancer forwards: ${ENGINE_NAMES.join(' | ')} (default undici)
  --users N            virtual users, each with its own cookie jar (default 1)
  --repeat N           times each user runs the scenario, each time with a new jar (default 1)
  --concurrency N      users in flight at once (default 64)
  --fault SPEC         a cookie fault at the balancer, repeatable; SPEC is one of
                       ${FAULT_USAGE}
                       each optionally ending in @PROBABILITY (e.g. strip-cookie@0.5)
  --fixed              run without the scenario's misconfiguration (expect no reset)
  --duration TIME      keep users going through the scenario for this long (30s, 2m)
  --requests N         stop after about N requests
  --client-addresses N users come from N loopback addresses (default: one each, up to 1000)
  --client KIND        virtual-user (default) or chromium: each user a real headless Chromium profile (a few users)
  --app COMMAND        run your own app instead of the reference server: each replica is
                       COMMAND (e.g. "node app.js") with PORT, HOST=127.0.0.1, BACKEND_ID=app-N
                       and REDIS_URL (with --store redis) in its environment
  --app-cwd DIR        where COMMAND runs (default: the current directory)
  --app-env KEY=VALUE  extra environment for every replica (of --app or --app-image), repeatable;
                       {BACKEND_ID} in VALUE becomes the replica's name (app-1, app-2…)
  --app-ready PATH     the path that answers once a replica is ready (default /)
  --app-start-timeout TIME  how long a replica may take to get ready (default: the time budget)
  --server NAME        the bundled server to run: reference (default) | express
                       (Express 4 + express-session, run as an app from a command)
  --cookie-name NAME   your app's session cookie (default: detected from the first Set-Cookie)
  --target URL         run against a system already running (your compose, a staging
                       balancer): nothing is started, only the client's view is recorded
  --backend-header H   with --target: the response header that names the backend (e.g. X-Served-By)
  --json               print one JSON object instead of the report
  --history FILE       stream the full history (every hop of every request) to FILE as
                       JSON lines, keeping memory flat on long runs
  --history-raw        keep cookie values, session ids and passwords in the history as
                       sent (by default they are hashed or redacted)
  --seed N             replay a run: session-lab's balancer draws its choices and fault
                       probabilities from N and each request's user, pass and step, so the
                       same seed sends every request to the same backend (round-robin, random,
                       sticky; client-hash needs none; least-connections only when loads tie,
                       e.g. --concurrency 1). Every run prints its seed. Refused for nginx /
                       HAProxy (they choose themselves) and --target
  --budget TIME        the time budget every deadline derives from (default 30s, or
                       SLAB_BUDGET_MS); raise it on a slow machine
  --report DIR         write DIR/index.html: summary, resets by cause, a sequence diagram per user
  --junit FILE         JUnit XML, a testcase per user pass (for CI test reporters)
  --summary FILE       a Markdown summary (also appended to $GITHUB_STEP_SUMMARY when set)

Redis (for --store redis): REDIS_URL if set; else redis-server from PATH on a
free port; else a container through testcontainers when Docker answers.

Exit codes: 0 passed, 1 an expectation failed, 2 bad input, 3 missing environment.`;

/** Clusters starting or running right now, stopped on Ctrl-C. */
const active = new Set<Promise<StartedCluster>>();
const interrupt = new AbortController();
let interrupted = 0;

function onSignal(signal: NodeJS.Signals): void {
  interrupted++;
  if (interrupted > 1) process.exit(130); // children are killed by the exit hook
  process.stderr.write(`\nsession-lab: ${signal}, stopping the cluster…\n`);
  interrupt.abort();
  // A cluster still starting is awaited, then stopped: nothing it starts may outlive us.
  void Promise.allSettled([...active].map(async (starting) => (await starting).stop()))
    .then(() => stopIdleBackends())
    .then(() => process.exit(130));
}

/** `30s`, `1.5m`, `500ms`, `90` (seconds): the one duration syntax (harness/util/duration.ts). */
function durationFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value) ?? NaN;
  if (!(ms >= 1 && ms <= 24 * 3600_000)) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--${name}: expected a duration like 30s, 2m or 500ms (at most 24 h), got ${cutValue(value)}`);
  }
  return ms;
}

/** A live progress line on a terminal (stderr), at most ten updates a second; nothing elsewhere. */
function progressLine(): { update: (p: RunProgress) => void; done: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, done: () => {} };
  let last = 0;
  let shown = false;
  return {
    update: ({ done, total, resets, elapsedMs }) => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      shown = true;
      const rate = elapsedMs > 0 ? Math.round((done / elapsedMs) * 1000) : 0;
      process.stderr.write(`\r\x1b[K${done}${total ? `/${total}` : ''} requests, ${rate} req/s, ${resets} reset${resets === 1 ? '' : 's'}, ${(elapsedMs / 1000).toFixed(1)} s`);
    },
    done: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

/** A value quoted in an error, cut to a readable length. */
function cutValue(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/** A flag given twice would silently lose one value: refuse it (except the repeatable ones). */
function refuseRepeated(tokens: { kind: string; name?: string }[] | undefined, repeatable: string[]): void {
  const seen = new Set<string>();
  for (const token of tokens ?? []) {
    if (token.kind !== 'option' || !token.name || repeatable.includes(token.name)) continue;
    if (seen.has(token.name)) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--${token.name}: given more than once; expected it once`);
    seen.add(token.name);
  }
}

function integerFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--${name}: expected an integer from ${min} to ${max}, got ${cutValue(value)}`);
  }
  return n;
}

function choiceFlag<T extends string>(name: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!choices.includes(value as T)) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--${name}: expected one of ${choices.join(', ')}, got ${cutValue(value)}`);
  }
  return value as T;
}

export async function withCluster<T>(options: ClusterOptions, use: (cluster: StartedCluster) => Promise<T>): Promise<T> {
  const starting = import('../cluster.js').then(({ startCluster }) => startCluster(options));
  active.add(starting);
  try {
    const cluster = await starting;
    try {
      if (interrupt.signal.aborted) throw new HarnessError('SLAB_ERR_INTERRUPTED', 'interrupted');
      return await use(cluster);
    } finally {
      await cluster.stop();
    }
  } finally {
    active.delete(starting);
  }
}

/** The flags that point session-lab at the user's own app: --app…, --server, --target. */
function ownAppFlags(
  values: Record<string, string | boolean | string[] | undefined>,
  /** The scenario's own app: --app-env, --app-ready… change it when no --app replaces it. */
  scenarioApp?: AppCommand,
): {
  app?: AppCommand;
  /** --app-image's --app-env, --app-ready, --app-start-timeout. */
  image?: { env: Record<string, string>; ready?: string; startTimeoutMs?: number };
  server?: 'reference' | 'express';
  target?: string;
  backendHeader?: string;
  cookieName?: string;
} {
  const str = (name: string) => values[name] as string | undefined;
  const server = choiceFlag('server', str('server'), ['reference', 'express'] as const);
  const target = str('target');
  const cookieName = str('cookie-name');
  if (cookieName !== undefined && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(cookieName)) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--cookie-name: expected an RFC 6265 cookie name, e.g. connect.sid, got ${JSON.stringify(cookieName)}`);
  }
  const appFlags = ['app-cwd', 'app-env', 'app-ready', 'app-start-timeout'].filter((name) => values[name] !== undefined);
  if (target !== undefined) {
    const clash = ['app', 'server', 'servers', 'store', 'balancer', 'fault', ...appFlags].find((name) => values[name] !== undefined && !(Array.isArray(values[name]) && values[name].length === 0));
    if (clash) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--${clash}: not with --target (session-lab starts nothing for a running system), got both`);
  } else if (values['backend-header'] !== undefined) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', "--backend-header: only with --target (session-lab's own balancer names the backend), got it without");
  }
  if (str('app') !== undefined && server !== undefined) throw new HarnessError('SLAB_ERR_OPTION_INVALID', '--server: not with --app (one or the other), got both');
  // An image's replicas take the same environment, ready path and start-up timeout as a command's (not a cwd).
  // A scenario with an app of its own takes them all (with --server express, that app is the bundled server's).
  const imageFlags = str('app-image') === undefined ? [] : ['app-env', 'app-ready', 'app-start-timeout'];
  const ownScenarioApp = scenarioApp !== undefined && str('app-image') === undefined && target === undefined && (server === undefined || server === 'express');
  const stray = appFlags.find((name) => !imageFlags.includes(name));
  if (str('app') === undefined && stray && !ownScenarioApp) {
    throw new HarnessError(
      'SLAB_ERR_OPTION_INVALID',
      `--${stray}: only with --app COMMAND${imageFlags.length || stray === 'app-cwd' ? '' : ' or --app-image IMAGE'} (or a scenario with an app block), got it without`,
    );
  }
  const env: Record<string, string> = {};
  for (const pair of (values['app-env'] as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--app-env: expected KEY=VALUE, got ${JSON.stringify(pair)}`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  let app: AppCommand | undefined;
  let image: { env: Record<string, string>; ready?: string; startTimeoutMs?: number } | undefined;
  if (str('app-image') !== undefined) {
    const checked = validateApp({ command: str('app-image')!, env, ready: str('app-ready'), startTimeoutMs: durationFlag('app-start-timeout', str('app-start-timeout')) }, 'cli');
    image = { env: checked.env ?? {}, ready: checked.ready, startTimeoutMs: checked.startTimeoutMs };
  }
  if (str('app') !== undefined) {
    app = validateApp(
      {
        command: str('app')!,
        cwd: str('app-cwd'),
        env,
        ready: str('app-ready'),
        startTimeoutMs: durationFlag('app-start-timeout', str('app-start-timeout')),
        cookieName,
      },
      'cli',
    );
  } else if (server === 'express') {
    // A scenario written for the bundled server (`app: { server: express, env }`) keeps its knobs.
    const bundled = expressServerApp();
    app = scenarioApp?.command === bundled.command ? scenarioApp : bundled;
  }
  if (str('app') === undefined && ownScenarioApp && appFlags.length) {
    // The scenario's app (or the bundled server), changed by the flags.
    const base = app ?? scenarioApp!;
    app = validateApp(
      {
        ...base,
        ...(str('app-cwd') !== undefined && { cwd: str('app-cwd') }),
        env: { ...base.env, ...env },
        ...(str('app-ready') !== undefined && { ready: str('app-ready') }),
        ...(str('app-start-timeout') !== undefined && { startTimeoutMs: durationFlag('app-start-timeout', str('app-start-timeout')) }),
        ...(cookieName !== undefined && { cookieName }),
      },
      'cli',
    );
  }
  return { app, image, server, target, backendHeader: str('backend-header'), cookieName };
}

/** `--app-image` (and `--app-port`): the replicas are containers of the user's image; refused before anything starts. */
function appImageLauncher(
  image: string | undefined,
  port: number | undefined,
  servers: number,
  options: { env?: Record<string, string>; ready?: string; startTimeoutMs?: number } = {},
): BackendLauncher | undefined {
  if (image === undefined) {
    if (port !== undefined) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--app-port: only with --app-image, got --app-port ${port} without it`);
    return undefined;
  }
  if (port !== undefined && servers > 1) {
    throw new HarnessError(
      'SLAB_ERR_OPTION_INVALID',
      `--app-port ${port}: with host networking only one replica can listen on a fixed port, got ${servers} servers; drop --app-port if the app reads PORT, or use --servers 1`,
    );
  }
  return containerLauncher({ image, port, env: options.env, readyPath: options.ready, startupTimeoutMs: options.startTimeoutMs });
}

async function commandRun(args: string[]): Promise<number> {
  const { values, positionals, tokens } = parseArgs({
    args,
    allowPositionals: true,
    tokens: true,
    options: {
      servers: { type: 'string' },
      store: { type: 'string' },
      balancer: { type: 'string' },
      'balancer-config': { type: 'string' },
      runtime: { type: 'string' },
      'proxy-engine': { type: 'string' },
      users: { type: 'string' },
      repeat: { type: 'string' },
      concurrency: { type: 'string' },
      fault: { type: 'string', multiple: true },
      fixed: { type: 'boolean', default: false },
      duration: { type: 'string' },
      requests: { type: 'string' },
      'client-addresses': { type: 'string' },
      'app-image': { type: 'string' },
      'app-port': { type: 'string' },
      client: { type: 'string' },
      json: { type: 'boolean', default: false },
      history: { type: 'string' },
      'history-raw': { type: 'boolean', default: false },
      app: { type: 'string' },
      'app-cwd': { type: 'string' },
      'app-env': { type: 'string', multiple: true },
      'app-ready': { type: 'string' },
      'app-start-timeout': { type: 'string' },
      server: { type: 'string' },
      'cookie-name': { type: 'string' },
      target: { type: 'string' },
      'backend-header': { type: 'string' },
      report: { type: 'string' },
      junit: { type: 'string' },
      summary: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  if (positionals.length !== 1) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `run: expected one scenario name or file, got ${positionals.length ? cutValue(positionals.join(' ')) : 'none'}`);
  }
  refuseRepeated(tokens, ['fault', 'app-env']);
  if (values.duration !== undefined && values.requests !== undefined) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', '--duration and --requests: expected one bound for the run, got both');
  }
  if (values['history-raw'] && values.history === undefined) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', '--history-raw: expected it with --history FILE (it keeps cookie values and passwords in that file)');
  }
  // Checked, and created 0600, before anything starts.
  if (values.history !== undefined) prepareHistoryFile(values.history);
  const cliCluster = {
    servers: integerFlag('servers', values.servers, 1, 64),
    store: choiceFlag<StoreKind>('store', values.store, STORE_KINDS),
    balancer: choiceFlag<FrontName>('balancer', values.balancer, FRONT_NAMES),
    balancerConfig: values['balancer-config'],
    runtime: choiceFlag<Runtime>('runtime', values.runtime, RUNTIMES),
    proxyEngine: choiceFlag<EngineName>('proxy-engine', values['proxy-engine'], ENGINE_NAMES),
  };
  const faults = values.fault ?? [];
  for (const spec of faults) validateFault(spec); // bad names exit 2 before anything starts
  const runOptions = {
    users: integerFlag('users', values.users, 1, 1_000_000),
    repeat: integerFlag('repeat', values.repeat, 1, 1_000_000),
    concurrency: integerFlag('concurrency', values.concurrency, 1, 10_000),
    durationMs: durationFlag('duration', values.duration),
    maxRequests: integerFlag('requests', values.requests, 1, 100_000_000),
    clientAddresses: integerFlag('client-addresses', values['client-addresses'], 1, 60_000),
    clientKind: choiceFlag<ClientKind>('client', values.client, CLIENT_KINDS),
    historyFile: values.history,
    historyRaw: values['history-raw'],
  };
  const seed = integerFlag('seed', values.seed, 0, MAX_SEED);
  if (seed !== undefined && values.target !== undefined) throw new HarnessError('SLAB_ERR_OPTION_INVALID', '--seed: not with --target (the running system routes requests itself), got both');
  const outputs = { report: values.report, junit: values.junit, summary: values.summary };
  const scenario = await loadScenario(positionals[0]);
  checkOutputs(outputs);
  const plan = planRun(scenario, { fixed: values.fixed, cluster: { ...cliCluster, seed }, faults });
  const own = ownAppFlags(values, plan.cluster.app);
  if (!own.target) checkRedisUrlEnv([plan.cluster.store ?? CLUSTER_DEFAULTS.store]); // before the run's code is loaded
  const balancer = plan.cluster.balancer ?? CLUSTER_DEFAULTS.balancer;
  if (seed !== undefined) checkSeedHolds(balancer, runOptions.concurrency ?? RUN_DEFAULTS.concurrency, runOptions.users ?? RUN_DEFAULTS.users);
  checkClientKind(runOptions.clientKind ?? 'virtual-user', {
    users: runOptions.users ?? 1,
    repeat: runOptions.repeat ?? 1,
    openEnded: runOptions.durationMs !== undefined || runOptions.maxRequests !== undefined,
    client: plan.client,
    scenario: scenario.name,
  });
  // Streaming to a file: keep nothing per request in memory.
  const clusterOptions = values.history ? { ...plan.cluster, recordProxyHistory: false, recordBackendLog: false } : plan.cluster;
  const appLauncher = appImageLauncher(
    values['app-image'],
    integerFlag('app-port', values['app-port'], 1, 65_535),
    plan.cluster.servers ?? CLUSTER_DEFAULTS.servers,
    own.image && {
      // The scenario's app block still says how its replicas are configured (a secret per replica…); the flags win.
      env: { ...clusterOptions.app?.env, ...own.image.env },
      ready: own.image.ready ?? clusterOptions.app?.ready,
      startTimeoutMs: own.image.startTimeoutMs ?? clusterOptions.app?.startTimeoutMs,
    },
  );
  if (appLauncher && (own.app || own.target)) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--app-image: not with ${own.target ? '--target' : '--app or --server'} (one app at a time), got both`);
  }
  // --app-image replaces the scenario's own app block, as every flag wins over the scenario.
  const app = appLauncher ? undefined : (own.app ?? (own.cookieName && clusterOptions.app ? { ...clusterOptions.app, cookieName: own.cookieName } : clusterOptions.app));
  const start = own.target
    ? async <T>(_: ClusterOptions, use: (cluster: StartedCluster) => Promise<T>) => {
        const { connectTarget } = await import('../target/target.js');
        return use(connectTarget({ url: own.target!, cookieName: own.cookieName }));
      }
    : withCluster;

  // The input is good: now load what runs the scenario and reports on it.
  const [{ runScenario }, { formatRun, runToJson }, { writeRunOutputs }] = await Promise.all([import('../runner/run.js'), import('./report.js'), import('./outputs.js')]);
  return start({ ...clusterOptions, app, ...(appLauncher && { launcher: appLauncher }) }, async (cluster) => {
    const progress = progressLine();
    const result = await runScenario(cluster, scenario, {
      ...runOptions,
      backendHeader: own.backendHeader,
      client: plan.client,
      fixed: plan.fixed,
      signal: interrupt.signal,
      onProgress: progress.update,
    });
    progress.done();
    if (values.json) process.stdout.write(`${JSON.stringify(runToJson(result))}\n`);
    else process.stdout.write(`${formatRun(result, { cookieName: cluster.history.topology.cookieName || cluster.options.session.cookieName })}\n`);
    writeRunOutputs(result, cluster.history.topology.cookieName || cluster.options.session.cookieName, outputs, `session-lab run ${args.join(' ')}`, note);
    return result.passed ? 0 : 1;
  });
}

/** --seed with a balancer it cannot replay: refused for nginx / HAProxy, a warning for least-connections under concurrency. */
function checkSeedHolds(balancer: FrontName, concurrency: number, users: number): void {
  if (isRealBalancer(balancer)) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--seed: ${balancer} chooses backends itself, so a seed cannot replay its routing; expected one of ${BALANCER_NAMES.join(', ')}`);
  }
  if (SEED_REPLAYS[balancer] === 'ties' && Math.min(concurrency, users) > 1) {
    note(`--seed: ${balancer} picks by requests in flight, which depend on timing; the seed fixes only ties (replays with --concurrency 1)`);
  }
}

function listFlag<T extends string>(name: string, value: string | undefined, choices: readonly T[] | undefined, fallback: T[]): T[] {
  if (value === undefined) return fallback;
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--${name}: expected a comma-separated list, got ${JSON.stringify(value)}`);
  if (choices) for (const item of items) choiceFlag(name, item, choices);
  return items as T[];
}

async function commandCompare(args: string[]): Promise<number> {
  const { values, tokens } = parseArgs({
    args,
    allowPositionals: false,
    tokens: true,
    options: {
      scenario: { type: 'string' },
      stores: { type: 'string' },
      balancers: { type: 'string' },
      faults: { type: 'string' },
      'proxy-engine': { type: 'string' },
      servers: { type: 'string' },
      runtime: { type: 'string' },
      users: { type: 'string' },
      requests: { type: 'string' },
      format: { type: 'string' },
      fixed: { type: 'boolean', default: false },
      server: { type: 'string' },
      report: { type: 'string' },
      summary: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  refuseRepeated(tokens, []);
  if (!values.scenario) throw new HarnessError('SLAB_ERR_OPTION_INVALID', '--scenario: expected a scenario name or file');
  const stores = listFlag<StoreKind>('stores', values.stores, STORE_KINDS, ['memory', 'redis']);
  const balancers = listFlag<FrontName>('balancers', values.balancers, FRONT_NAMES, ['round-robin', 'sticky']);
  checkRedisUrlEnv(stores);
  const faults = listFlag<string>('faults', values.faults, undefined, ['none']);
  for (const fault of faults) if (fault !== 'none') validateFault(fault, '--faults');
  const format = choiceFlag<CompareFormat>('format', values.format, COMPARE_FORMATS) ?? 'table';
  const scenario = await loadScenario(values.scenario);
  const outputs = { report: values.report, summary: values.summary };
  checkOutputs(outputs);
  const total = stores.length * balancers.length * faults.length;
  const given = integerFlag('seed', values.seed, 0, MAX_SEED);
  const seed = given ?? newSeed();
  const unseeded = balancers.filter((balancer) => isRealBalancer(balancer));
  if (given !== undefined && unseeded.length) note(`--seed: ${unseeded.join(', ')} choose${unseeded.length === 1 ? 's' : ''} backends itself; those rows do not replay`);
  for (const balancer of balancers) if (given !== undefined && !isRealBalancer(balancer)) checkSeedHolds(balancer, 64, integerFlag('users', values.users, 1, 100_000) ?? 10);
  if (unseeded.length < balancers.length) note(`seed ${seed} (replay: --seed ${seed})`);
  let done = 0;
  const [{ compare, formatComparison }, { writeCompareOutputs }] = await Promise.all([import('../compare/compare.js'), import('./outputs.js')]);
  const rows = await compare(scenario, {
    stores,
    balancers,
    faults,
    servers: integerFlag('servers', values.servers, 1, 64),
    runtime: choiceFlag<Runtime>('runtime', values.runtime, RUNTIMES),
    proxyEngine: choiceFlag<EngineName>('proxy-engine', values['proxy-engine'], ENGINE_NAMES),
    users: integerFlag('users', values.users, 1, 100_000),
    requests: integerFlag('requests', values.requests, 1, 10_000_000),
    fixed: values.fixed,
    seed,
    app: choiceFlag('server', values.server, ['reference', 'express'] as const) === 'express' ? expressServerApp() : undefined,
    signal: interrupt.signal,
    withCluster,
    onStart: (label) => process.stderr.write(`[${++done}/${total}] ${scenario.name} on ${label}…\n`),
  });
  process.stdout.write(`${formatComparison(rows, format)}\n`);
  writeCompareOutputs(scenario.name, rows, outputs, `session-lab compare ${args.join(' ')}`, note);
  return interrupted ? 130 : 0;
}

/** `--budget TIME` (any command): the time budget every deadline derives from (harness/util/budget.ts). */
function takeBudget(argv: string[]): string[] {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    if (flag !== '--budget') {
      rest.push(argv[i]);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new HarnessError('SLAB_ERR_OPTION_INVALID', '--budget: expected milliseconds or a duration like 90s, got nothing');
    setTimeoutBudget(parseBudget('--budget', value));
  }
  timeoutBudgetMs(); // a malformed SLAB_BUDGET_MS is bad input, refused before anything starts
  return rest;
}

/** Every error is one line of sane length, whatever it quotes. */
function oneLine(message: string): string {
  const line = message.replace(/\s*\n\s*/g, ' ').trim();
  return line.length > 1000 ? `${line.slice(0, 1000)}… (${line.length} chars)` : line;
}

/** Notes about files written go to stderr, so stdout stays one report (or one JSON object). */
function note(line: string): void {
  process.stderr.write(`session-lab: ${line}\n`);
}

/** `session-lab diagnose FILE`: a --history file settled again, verdicts as the run gave them. */
async function commandDiagnose(args: string[]): Promise<number> {
  const { values, positionals, tokens } = parseArgs({
    args,
    allowPositionals: true,
    tokens: true,
    options: {
      json: { type: 'boolean', default: false },
      report: { type: 'string' },
      junit: { type: 'string' },
      summary: { type: 'string' },
    },
  });
  refuseRepeated(tokens, []);
  if (positionals.length !== 1) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `diagnose: expected one history file (written by run --history), got ${positionals.length ? cutValue(positionals.join(' ')) : 'none'}`);
  }
  const outputs = { report: values.report, junit: values.junit, summary: values.summary };
  checkOutputs(outputs);
  const [{ diagnoseHistoryFile }, { formatRun, runToJson }, { writeRunOutputs }] = await Promise.all([import('../runner/diagnose-file.js'), import('./report.js'), import('./outputs.js')]);
  const result = await diagnoseHistoryFile(positionals[0]);
  const { cookieName } = result;
  if (values.json) process.stdout.write(`${JSON.stringify(runToJson(result))}\n`);
  else process.stdout.write(`${formatRun(result, { cookieName })}\n`);
  writeRunOutputs(result, cookieName, outputs, `session-lab diagnose ${args.join(' ')}`, note);
  return result.passed ? 0 : 1;
}

/** `session-lab scenarios`: the built-in scenarios, one line each. */
async function commandScenarios(): Promise<number> {
  const { formatScenarioList } = await import('./report.js');
  const scenarios = [];
  for (const name of builtInScenarioNames()) scenarios.push(await loadScenario(name));
  process.stdout.write(`${formatScenarioList(scenarios)}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const [command, ...rest] = takeBudget(argv);
    switch (command) {
      case 'run':
        return await commandRun(rest);
      case 'compare':
        return await commandCompare(rest);
      case 'diagnose':
        return await commandDiagnose(rest);
      case 'scenarios':
        parseArgs({ args: rest, options: {} });
        return await commandScenarios();
      case 'demo':
        parseArgs({ args: rest, options: {} });
        return await (await import('./demo.js')).runDemo(withCluster, interrupt.signal);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new HarnessError('SLAB_ERR_OPTION_INVALID', `unknown command ${cutValue(command)}: expected run, compare, diagnose, scenarios, demo or help`);
    }
  } catch (error) {
    if (isHarnessError(error)) {
      process.stderr.write(`session-lab: ${error.code}: ${oneLine(error.message)}\n`);
      return error.exitCode;
    }
    if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`session-lab: SLAB_ERR_OPTION_INVALID: ${oneLine((error as Error).message)}\n`);
      return 2;
    }
    throw error;
  }
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = interrupted ? 130 : code;
    },
    (error) => {
      process.stderr.write(`session-lab: internal error: ${typeof (error as Error)?.stack === 'string' ? mapStack((error as Error).stack!) : error}\n`);
      process.exitCode = 1;
    },
  )
  // The backends kept warm between clusters: a finished run leaves nothing running.
  .finally(() => stopIdleBackends());
