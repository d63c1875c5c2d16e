import { HarnessError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { allowCookies } from './allow-cookies.js';
import { capCookie } from './cap-cookie.js';
import { dropCookie } from './drop-cookie.js';
import { dropForwardedProto } from './drop-forwarded-proto.js';
import type { CookieFault, FaultDefinition } from './fault.js';
import { mergeSetCookie } from './merge-set-cookie.js';
import { stripCookie } from './strip-cookie.js';
import { stripSetCookie } from './strip-set-cookie.js';
import { drainBackend } from './scheduled/drain-backend.js';
import { killBackend } from './scheduled/kill-backend.js';
import { pauseBackend } from './scheduled/pause-backend.js';
import { killRedis, pauseRedis, restartRedis, slowRedis } from './scheduled/redis-faults.js';
import { restartBackend } from './scheduled/restart-backend.js';
import { rollingRestart } from './scheduled/rolling-restart.js';
import { killPrimary, partitionPrimary, replicaLag } from './scheduled/store-faults.js';
import type { Schedule, ScheduledFault, ScheduledFaultDefinition } from './scheduled/scheduled-fault.js';
import type { ClusterControl } from '../cluster-control.js';

/** Every cookie fault the balancer can inject, by name. */
export const FAULTS: readonly FaultDefinition[] = [stripCookie, stripSetCookie, dropCookie, allowCookies, capCookie, mergeSetCookie, dropForwardedProto];

/** Faults that happen to the cluster once during a run, on a schedule. */
export const SCHEDULED_FAULTS: readonly ScheduledFaultDefinition[] = [
  killBackend,
  restartBackend,
  rollingRestart,
  drainBackend,
  pauseBackend,
  killRedis,
  restartRedis,
  pauseRedis,
  slowRedis,
  replicaLag,
  killPrimary,
  partitionPrimary,
];

export const FAULT_USAGE = [...FAULTS, ...SCHEDULED_FAULTS].map((fault) => fault.usage).join(', ');

const SCHEDULE_USAGE = 'scheduled faults take ,at=TIME (e.g. at=1.5s) or ,after=K requests (default: after a third of the requests)';

function unknownFault(spec: string, where: string): HarnessError {
  return new HarnessError(
    'SLAB_ERR_OPTION_INVALID',
    `${where}: unknown fault ${JSON.stringify(spec)}: expected one of ${FAULT_USAGE}; cookie faults may end in @PROBABILITY (e.g. strip-cookie@0.5), ${SCHEDULE_USAGE}`,
  );
}

const duration = parseDuration;

export function isScheduledFault(spec: string): boolean {
  const name = /^([a-z-]+)/.exec(spec.trim())?.[1];
  return SCHEDULED_FAULTS.some((fault) => fault.name === name);
}

/** Parses `NAME[=app-N][,at=TIME|,after=K][,for=DURATION]`, e.g. `kill-backend=app-2,after=20`. */
export function parseScheduledFault(spec: string, where = '--fault'): ScheduledFault {
  const [head, ...options] = spec.trim().split(',');
  const match = /^([a-z-]+)(?:=(.+))?$/.exec(head);
  const definition = match && SCHEDULED_FAULTS.find((fault) => fault.name === match[1]);
  if (!match || !definition) throw unknownFault(spec, where);
  const bad = (message: string) => new HarnessError('SLAB_ERR_OPTION_INVALID', `${where}: ${JSON.stringify(spec)}: ${message}`);
  if (match[2] !== undefined && !definition.takesBackend && !definition.value) throw bad(`${definition.name} takes no target`);
  let value = definition.value?.default;
  if (definition.value && match[2] !== undefined) {
    value = definition.value.parse(match[2]);
    if (value === undefined) throw bad(`expected ${definition.value.expected}, got ${JSON.stringify(match[2])}`);
  }
  const backend = definition.takesBackend ? (match[2] ?? 'app-1') : 'app-1';
  if (!/^app-\d+$/.test(backend)) throw bad(`expected a backend name like app-2, got ${JSON.stringify(backend)}`);
  let schedule: Schedule = definition.defaultSchedule ?? { fractionOfRequests: 1 / 3 };
  let durationMs = definition.defaultDurationMs ?? 0;
  for (const option of options) {
    const [key, value = ''] = option.split('=');
    if (key === 'at') {
      const ms = duration(value);
      if (ms === undefined) throw bad(`at: expected a time like 1.5s or 800ms, got ${JSON.stringify(value)}`);
      schedule = { atMs: ms };
    } else if (key === 'after') {
      if (!/^\d+$/.test(value) || Number(value) < 1) throw bad(`after: expected a number of requests, got ${JSON.stringify(value)}`);
      schedule = { afterRequests: Number(value) };
    } else if (key === 'for' && definition.defaultDurationMs !== undefined) {
      const ms = duration(value);
      if (ms === undefined || ms <= 0) throw bad(`for: expected a duration like 1s or 500ms, got ${JSON.stringify(value)}`);
      durationMs = ms;
    } else {
      throw bad(`unknown option ${JSON.stringify(key)}; ${SCHEDULE_USAGE}${definition.defaultDurationMs !== undefined ? ', and ,for=DURATION' : ''}`);
    }
  }
  return {
    spec,
    name: definition.name,
    backend,
    durationMs,
    schedule,
    requires: definition.requires ?? [],
    takesBackend: definition.takesBackend,
    ...(definition.arm ? { arm: (cluster: ClusterControl) => definition.arm!(cluster, { spec, backend, durationMs, value }) } : {}),
    act: (cluster) => definition.act(cluster, { spec, backend, durationMs, value }),
  };
}

/** Refuses, before the first request, a scheduled fault this cluster cannot have. */
export function assertFaultFits(fault: ScheduledFault, cluster: ClusterControl): void {
  const refuse = (expected: string) => {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `fault ${JSON.stringify(fault.spec)}: ${expected}`);
  };
  if (fault.takesBackend && !cluster.backendNames.includes(fault.backend)) refuse(`no backend ${fault.backend}; expected one of ${cluster.backendNames.join(', ')}`);
  for (const requirement of fault.requires) {
    if (requirement === 'redis' && !cluster.redis) refuse('the cluster has no Redis; expected --store redis or redis-locking');
    if (requirement === 'own-redis' && cluster.redis?.source === 'REDIS_URL') refuse('needs a Redis session-lab starts itself, not REDIS_URL (unset it)');
    if (requirement === 'replicas' && !cluster.topology?.setLag) refuse('the store has no replicas to act on; expected --store redis-replica-reads, redis-replica-reads-wait or redis-sentinel');
    if (requirement === 'failover' && (!cluster.topology || cluster.topology.kind === 'replica-reads'))
      refuse('the store has nothing to promote a replica; expected --store redis-sentinel or redis-cluster');
  }
}

/** Checks any fault spec, cookie or scheduled; throws the one clear error. */
export function validateFault(spec: string, where = '--fault'): void {
  if (isScheduledFault(spec)) parseScheduledFault(spec, where);
  else parseFault(spec, where);
}

/**
 * Parses `NAME[=VALUE][@PROBABILITY]`, e.g. `strip-set-cookie`,
 * `drop-cookie=sid@0.25`, `cap-cookie=8192:431`.
 */
export function parseFault(spec: string, where = '--fault'): CookieFault {
  const match = /^([a-z-]+)(?:=([^@]*))?(?:@(.+))?$/.exec(spec.trim());
  const definition = match && FAULTS.find((fault) => fault.name === match[1]);
  if (!match || !definition) throw unknownFault(spec, where);
  const [, name, value, probabilityText] = match;
  const probability = probabilityText === undefined ? 1 : Number(probabilityText);
  if (!(probability > 0 && probability <= 1)) {
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${where}: ${JSON.stringify(spec)}: probability must be a number in (0, 1], got ${JSON.stringify(probabilityText)}`);
  }
  try {
    return { spec, name, probability, ...definition.create(value === '' ? undefined : value) };
  } catch (message) {
    if (typeof message !== 'string') throw message;
    throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${where}: ${JSON.stringify(spec)}: ${message}`);
  }
}
