import type { ScheduledFaultDefinition } from './scheduled-fault.js';

/** A backend crashes (SIGKILL) and stays down: its memory sessions die with it. */
export const killBackend: ScheduledFaultDefinition = {
  name: 'kill-backend',
  usage: 'kill-backend[=app-N]',
  description: 'SIGKILL a backend; it stays down',
  takesBackend: true,
  act: (cluster, { spec, backend }) => cluster.killBackend(backend, spec),
};
