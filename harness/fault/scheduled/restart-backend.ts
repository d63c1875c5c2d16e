import type { ScheduledFaultDefinition } from './scheduled-fault.js';

/** A backend restarts (a deploy, a crash loop): back up at once, its memory empty. */
export const restartBackend: ScheduledFaultDefinition = {
  name: 'restart-backend',
  usage: 'restart-backend[=app-N]',
  description: 'restart a backend: a new process, its memory sessions gone',
  takesBackend: true,
  act: (cluster, { spec, backend }) => cluster.restartBackend(backend, spec),
};
