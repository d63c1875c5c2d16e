/**
 * `--server express`: the bundled Express + express-session server
 * (servers/express/server.ts), run through the app-from-a-command path
 * like any user's app.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessError } from '../errors.js';
import { PACKAGE_ROOT } from '../util/paths.js';
import type { AppCommand } from './command-launcher.js';

/** Bundled by `npm run build` (rolldown.config.js): one file to load, ~0.1 s less CPU per start than Express's modules one by one. */
export const EXPRESS_SERVER_SCRIPT = join(PACKAGE_ROOT, 'dist', 'servers', 'express', 'bundle', 'server.js');

/** The app command for the Express server; `env` sets its knobs (SESSION_SECRET, ROLLING…). */
export function expressServerApp(env: Record<string, string> = {}): AppCommand {
  if (!existsSync(EXPRESS_SERVER_SCRIPT)) {
    throw new HarnessError('SLAB_ERR_BACKEND_START', `${EXPRESS_SERVER_SCRIPT} is missing: run "npm run build" (npm ci does it) first`);
  }
  return {
    command: `"${process.execPath}" "${EXPRESS_SERVER_SCRIPT}"`,
    // One secret for all replicas, as a correct deployment has; a scenario may take it away.
    env: { SESSION_SECRET: 'session-lab-express-shared-secret', ...env },
    ready: '/health',
    cookieName: env.SESSION_COOKIE ?? 'connect.sid',
  };
}
