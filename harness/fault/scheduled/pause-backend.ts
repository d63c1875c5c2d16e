import type { ScheduledFaultDefinition } from './scheduled-fault.js';

/**
 * A backend frozen for a while, then let go (a GC pause, a stalled VM, a
 * container throttled): a process gets SIGSTOP/SIGCONT, a container docker
 * pause/unpause. Its requests wait, then complete; nothing is lost.
 */
export const pauseBackend: ScheduledFaultDefinition = {
  name: 'pause-backend',
  usage: 'pause-backend[=app-N][,for=DURATION]',
  description: 'freeze a backend (SIGSTOP/SIGCONT, docker pause for a container) for a while (default 1 s)',
  takesBackend: true,
  defaultDurationMs: 1000,
  act: (cluster, { spec, backend, durationMs }) => cluster.pauseBackend(backend, durationMs, spec),
};
