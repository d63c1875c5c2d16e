import type { ScheduledFaultDefinition } from './scheduled-fault.js';

/** Every backend restarted, one after the other, as a rolling deploy does. */
export const rollingRestart: ScheduledFaultDefinition = {
  name: 'rolling-restart',
  usage: 'rolling-restart',
  description: 'restart every backend in turn (a rolling deploy)',
  takesBackend: false,
  async act(cluster, { spec }) {
    for (const backend of cluster.backendNames) await cluster.restartBackend(backend, spec);
  },
};
