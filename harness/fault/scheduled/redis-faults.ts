import type { ClusterControl } from '../../cluster-control.js';
import { HarnessError } from '../../errors.js';
import type { ScheduledFaultDefinition } from './scheduled-fault.js';

function redisOf(cluster: ClusterControl, fault: string) {
  if (!cluster.redis) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `${fault}: the cluster has no Redis (use --store redis)`);
  return cluster.redis;
}

/** Redis dies and stays down: every request that needs a session fails. */
export const killRedis: ScheduledFaultDefinition = {
  name: 'kill-redis',
  usage: 'kill-redis',
  description: 'kill Redis; it stays down',
  takesBackend: false,
  requires: ['redis', 'own-redis'],
  async act(cluster, { spec }) {
    const redis = redisOf(cluster, 'kill-redis');
    cluster.recordEvent({ kind: 'redis-killed', fault: spec, detail: 'Redis killed (SIGKILL)' });
    await redis.kill();
  },
};

/** Redis restarts with nothing in it (no persistence): every session is gone at once. */
export const restartRedis: ScheduledFaultDefinition = {
  name: 'restart-redis',
  usage: 'restart-redis',
  description: 'restart Redis empty: every shared session is lost',
  takesBackend: false,
  requires: ['redis', 'own-redis'],
  async act(cluster, { spec }) {
    const redis = redisOf(cluster, 'restart-redis');
    // The old Redis serves on until its keeper has killed it (late, on a busy machine): what it
    // stored meanwhile is lost too. It is certainly gone once the new one is ready; until then
    // the restart is under way (users who finish meanwhile are judged with it so).
    const event = cluster.recordEvent({ kind: 'redis-restarted', fault: spec, detail: 'Redis restarted empty (no persistence)', ongoing: true });
    try {
      await redis.restart();
    } finally {
      event.lostBy = Date.now();
      delete event.ongoing;
    }
  },
};

/** Redis frozen (SIGSTOP) for a while, then let go (SIGCONT): requests hang, then complete. */
export const pauseRedis: ScheduledFaultDefinition = {
  name: 'pause-redis',
  usage: 'pause-redis[,for=DURATION]',
  description: 'freeze Redis (SIGSTOP/SIGCONT) for a while (default 1 s)',
  takesBackend: false,
  requires: ['redis'],
  defaultDurationMs: 1000,
  async act(cluster, { spec, durationMs }) {
    cluster.recordEvent({ kind: 'redis-paused', fault: spec, detail: `Redis frozen for ${durationMs} ms` });
    await redisOf(cluster, 'pause-redis').pause(durationMs);
  },
};

/** Redis slow for a while: every command waits tens of ms. */
export const slowRedis: ScheduledFaultDefinition = {
  name: 'slow-redis',
  usage: 'slow-redis[,for=DURATION]',
  description: 'make Redis slow (CLIENT PAUSE slices) for a while (default 1 s)',
  takesBackend: false,
  requires: ['redis'],
  defaultDurationMs: 1000,
  async act(cluster, { spec, durationMs }) {
    cluster.recordEvent({ kind: 'redis-slowed', fault: spec, detail: `Redis slowed for ${durationMs} ms` });
    await redisOf(cluster, 'slow-redis').slow(durationMs);
  },
};
