import { setTimeout as delay } from 'node:timers/promises';
import type { ScheduledFaultDefinition } from './scheduled-fault.js';

/** A backend taken out of rotation for a while (maintenance): it keeps its memory, but gets no requests. */
export const drainBackend: ScheduledFaultDefinition = {
  name: 'drain-backend',
  usage: 'drain-backend[=app-N][,for=DURATION]',
  description: 'take a backend out of rotation for a while (default 1 s)',
  takesBackend: true,
  defaultDurationMs: 1000,
  async act(cluster, { spec, backend, durationMs }) {
    cluster.drainBackend(backend, true, spec);
    await delay(durationMs);
    cluster.drainBackend(backend, false, spec);
  },
};
