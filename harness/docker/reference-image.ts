/**
 * The reference server's image, built from docker/Dockerfile for
 * `--runtime docker`, tagged by the hash of what goes into it so a stale
 * image is never run and an unchanged one is never rebuilt.
 *
 * The base is session-lab/base:local when the engine has it (docker/engine.sh
 * makes it from the host's node), else node:20-slim when the engine has it;
 * session-lab never pulls.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessError } from '../errors.js';
import { PACKAGE_ROOT } from '../util/paths.js';
import { buildImage } from './build-image.js';
import { withBuildLock } from './build-lock.js';
import { BASE_IMAGE, dockerClient, hasImage } from './engine.js';

export const REFERENCE_IMAGE_REPOSITORY = 'session-lab/reference';
const DOCKERFILE = 'docker/Dockerfile';
const BUNDLE_DIR = 'dist/servers/bundle';
const FALLBACK_BASE = 'node:20-slim';

/** The files of the build context, relative to the package root. */
function contextFiles(): string[] {
  const bundle = join(PACKAGE_ROOT, BUNDLE_DIR);
  if (!existsSync(join(bundle, 'app.js'))) {
    throw new HarnessError('SLAB_ERR_BACKEND_START', `${join(bundle, 'app.js')} is missing: run "npm run build" (npm ci does it) first`);
  }
  const files = readdirSync(bundle)
    .filter((name) => name.endsWith('.js'))
    .sort()
    .map((name) => `${BUNDLE_DIR}/${name}`);
  return [DOCKERFILE, 'docker/server-package.json', ...files];
}

async function chooseBase(): Promise<string> {
  for (const candidate of [BASE_IMAGE, FALLBACK_BASE]) if (await hasImage(candidate)) return candidate;
  throw new HarnessError(
    'SLAB_ERR_IMAGE_MISSING',
    `runtime docker: the reference server's image is built on ${BASE_IMAGE} or ${FALLBACK_BASE}, and the engine has neither. ` +
      `session-lab never pulls: docker pull ${FALLBACK_BASE}, or on a machine without registry access eval "$(docker/engine.sh start)", which imports ${BASE_IMAGE}.`,
  );
}

let building: Promise<string> | undefined;

/** The reference image's name, built first when the engine does not have this version. */
export function referenceImage(): Promise<string> {
  building ??= build().finally(() => {
    building = undefined;
  });
  return building;
}

async function build(): Promise<string> {
  const files = contextFiles();
  const base = await chooseBase();
  // The base's id, not its name: a base imported anew gives a new image.
  const { ImageName } = await import('testcontainers');
  const baseId = (await (await dockerClient()).image.inspect(ImageName.fromString(base))).Id;
  const hash = createHash('sha256').update(baseId);
  for (const file of files) hash.update(file).update(readFileSync(join(PACKAGE_ROOT, file)));
  const image = `${REFERENCE_IMAGE_REPOSITORY}:${hash.digest('hex').slice(0, 16)}`;
  if (await hasImage(image)) return image;

  // Harness processes started together (test files, the CLI runs of one test) each find it missing: one builds, the others wait for it.
  await withBuildLock(`${process.env.DOCKER_HOST ?? 'default'} ${image}`, async () => {
    if (await hasImage(image)) return;
    try {
      await buildImage({ context: PACKAGE_ROOT, files, dockerfile: DOCKERFILE, tag: image, buildArgs: { BASE: base } });
    } catch (error) {
      throw new HarnessError('SLAB_ERR_CONTAINER_START', `runtime docker: building ${image} from ${DOCKERFILE} on ${base} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  });
  return image;
}
