/**
 * The fixture Express app (test/fixtures/express-app/) as a Docker image, as
 * a user builds theirs: its Dockerfile, its files and its node_modules — here
 * the packages it imports and their dependencies, copied from this repo's
 * node_modules (the engine has no registry, so `npm ci` cannot run inside).
 * Built on session-lab/base:local (docker/engine.sh makes it from the host's
 * node), tagged by the hash of what goes into it, so it is built once.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { buildImage } from '../../harness/docker/build-image.js';
import { dockerClient, hasImage } from '../../harness/docker/engine.js';
import { BASE_IMAGE } from './docker.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const APP_DIR = join(ROOT, 'test', 'fixtures', 'express-app');

/** What the fixture imports: express-session's stores are the app's own choice (connect-redis on ioredis). */
const APP_PACKAGES = ['express', 'express-session', 'connect-redis', 'ioredis'];

/** The package folder `name` resolves to from `from`, walking up node_modules as Node does. */
function resolvePackage(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === ROOT || dirname(dir) === dir) return undefined;
  }
}

/** `packages` and everything they depend on (optional ones when installed), as folders relative to the repo. */
export function dependencyClosure(packages: string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string, from: string, optional: boolean) => {
    const dir = resolvePackage(name, from);
    if (!dir) {
      if (optional) return;
      throw new Error(`${name} (needed by ${relative(ROOT, from) || 'the app'}) is not in node_modules: run npm ci`);
    }
    if (seen.has(dir)) return;
    seen.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, dir, dep in (manifest.optionalDependencies ?? {}));
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, dir, true);
  };
  for (const name of packages) visit(name, ROOT, false);
  return [...seen].map((dir) => relative(ROOT, dir)).sort();
}

async function hashTree(hash: ReturnType<typeof createHash>, path: string): Promise<void> {
  const full = join(ROOT, path);
  if (statSync(full).isDirectory()) {
    for (const entry of (await readdir(full)).sort()) await hashTree(hash, join(path, entry));
  } else {
    hash.update(path).update(readFileSync(full));
  }
}

let building: Promise<string> | undefined;

/** The fixture app's image (NAME:TAG), built on the engine first when it does not have it. */
export function expressAppImage(): Promise<string> {
  building ??= (async () => {
    const appFiles = ['app.js', 'package.json', 'Dockerfile'].map((file) => relative(ROOT, join(APP_DIR, file)));
    const modules = dependencyClosure(APP_PACKAGES);
    const { ImageName } = await import('testcontainers');
    const baseId = (await (await dockerClient()).image.inspect(ImageName.fromString(BASE_IMAGE))).Id;
    const hash = createHash('sha256').update(baseId);
    for (const file of [...appFiles, ...modules]) await hashTree(hash, file);
    const image = `session-lab-test/express-app:${hash.digest('hex').slice(0, 16)}`;
    if (await hasImage(image)) return image;
    // The build context is a folder laid out as the user's app is: the app, its Dockerfile, its node_modules.
    const context = mkdtempSync(join(tmpdir(), 'slab-express-app-'));
    try {
      for (const file of appFiles) cpSync(join(ROOT, file), join(context, relative(relative(ROOT, APP_DIR), file)));
      for (const dir of modules) cpSync(join(ROOT, dir), join(context, dir), { recursive: true, dereference: true });
      await buildImage({ context, files: ['.'], dockerfile: 'Dockerfile', tag: image, buildArgs: { BASE: BASE_IMAGE } });
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
    return image;
  })();
  return building;
}
