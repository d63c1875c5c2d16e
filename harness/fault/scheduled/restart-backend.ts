import type { ScheduledFaultDefinition } from './scheduled-fault.js';

/**
 * A backend restarts (a deploy, a crash loop): its process stops and a new
 * one starts, its memory empty. It takes no requests until the new process
 * is ready — a moment on an idle machine, a second or more on a busy one —
 * and the history records both ends (`backend-restarted`, `backend-up`).
 */
export const restartBackend: ScheduledFaultDefinition = {
  name: 'restart-backend',
  usage: 'restart-backend[=app-N]',
  description: 'restart a backend: a new process, its memory sessions gone',
  takesBackend: true,
  act: (cluster, { spec, backend }) => cluster.restartBackend(backend, spec),
};
