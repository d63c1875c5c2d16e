/**
 * Where the app servers run, and a Redis session-lab starts for them:
 * `process` (forked on this machine, the default) or `docker` (containers of
 * the reference server's image, and a Redis container, through
 * testcontainers on a Docker engine; see docker/README.md).
 */
import { referenceLauncher, type BackendLauncher } from './launcher.js';

export type Runtime = 'process' | 'docker';
export const RUNTIMES: readonly Runtime[] = ['process', 'docker'];

/** The reference server's launcher on `runtime`. Docker: its image is built first when the engine lacks this version. */
export async function referenceLauncherFor(runtime: Runtime): Promise<BackendLauncher> {
  if (runtime === 'process') return referenceLauncher;
  // Loaded only here: a process run never loads testcontainers.
  const [{ containerLauncher }, { referenceImage }] = await Promise.all([import('./container-launcher.js'), import('../docker/reference-image.js')]);
  return containerLauncher({ image: await referenceImage(), reference: true });
}
