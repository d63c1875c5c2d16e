/**
 * The Docker engine the container runtime talks to, through testcontainers.
 *
 * session-lab runs every container on the host's network and reaches it at
 * 127.0.0.1, and removes its containers itself (see ./watchdog.ts), so two
 * testcontainers settings are fixed here before testcontainers is loaded:
 * TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 (otherwise testcontainers looks for
 * the bridge network's gateway) and TESTCONTAINERS_RYUK_DISABLED=true (Ryuk
 * is a container on a bridge network). When DOCKER_HOST is unset and the
 * private engine of docker/engine.sh answers at its default socket, that
 * engine is used.
 */
import { existsSync } from 'node:fs';
import type { ContainerRuntimeClient } from 'testcontainers';
import { HarnessError } from '../errors.js';

/** The default socket of `docker/engine.sh start`. */
export const PRIVATE_ENGINE_SOCKET = '/tmp/session-lab-docker/docker.sock';

/** The image docker/engine.sh imports from the host's own node and redis-server. */
export const BASE_IMAGE = 'session-lab/base:local';

/** Every container session-lab starts carries these labels. */
export const LABEL_OWNER = 'session-lab.owner';
export const LABEL_ROLE = 'session-lab.role';

export const HOW_TO_GET_DOCKER =
  'Start a Docker engine and point DOCKER_HOST at it; on a Debian/Ubuntu machine without one, as root: ' +
  'apt-get install docker.io, then eval "$(docker/engine.sh start)" from a session-lab checkout (a private engine with no bridge network).';

/** Sets the environment testcontainers reads, without overriding what the user set. */
export function prepareDockerEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  if (!env.DOCKER_HOST && existsSync(PRIVATE_ENGINE_SOCKET)) env.DOCKER_HOST = `unix://${PRIVATE_ENGINE_SOCKET}`;
  env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
}

let client: Promise<ContainerRuntimeClient> | undefined;

/** The engine's client; SLAB_ERR_DOCKER_UNAVAILABLE (exit 3) when no engine answers. */
export function dockerClient(): Promise<ContainerRuntimeClient> {
  client ??= (async () => {
    prepareDockerEnvironment();
    const { getContainerRuntimeClient } = await import('testcontainers');
    try {
      return await getContainerRuntimeClient();
    } catch (error) {
      client = undefined;
      const where = process.env.DOCKER_HOST ? `DOCKER_HOST=${process.env.DOCKER_HOST}` : 'the default Docker socket';
      throw new HarnessError('SLAB_ERR_DOCKER_UNAVAILABLE', `runtime docker: no Docker engine answers at ${where} (${(error as Error).message}). ${HOW_TO_GET_DOCKER}`, {
        cause: error,
      });
    }
  })();
  return client;
}

/** Whether the engine has `image` locally. */
export async function hasImage(image: string): Promise<boolean> {
  const engine = await dockerClient();
  const { ImageName } = await import('testcontainers');
  return engine.image.exists(ImageName.fromString(image));
}

/** The last `lines` lines of `text`, for an error message. */
export function lastLines(text: string, lines = 12): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}
