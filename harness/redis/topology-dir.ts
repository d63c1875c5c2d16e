/**
 * The scratch directory of a Redis topology (sentinel configuration files,
 * cluster nodes-*.conf). stop() removes it; a harness killed by SIGKILL
 * cannot, so every directory carries its owner's pid, and the next
 * topology started on this machine removes the directories whose owner is
 * gone. Their redis-server processes died with the harness (keepers).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../util/children.js';

const OWNER_FILE = 'owner.pid';

export interface TopologyDir {
  readonly path: string;
  remove(): Promise<void>;
}

/** Removes `prefix*` directories left by a harness that died without stopping (SIGKILL). */
export async function sweepOrphanDirs(prefix: string, parent = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names.filter((entry) => entry.startsWith(prefix))) {
    const dir = join(parent, name);
    const owner = Number((await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => '')).trim());
    // No owner file: one being created right now, or not ours. Leave it.
    if (!Number.isInteger(owner) || owner <= 0 || pidAlive(owner)) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** A new `prefix*` directory under the temp dir, owned by this process; orphans of dead harnesses are swept first. */
export async function makeTopologyDir(prefix: string, parent = tmpdir()): Promise<TopologyDir> {
  await sweepOrphanDirs(prefix, parent);
  const path = await mkdtemp(join(parent, prefix));
  await writeFile(join(path, OWNER_FILE), `${process.pid}\n`);
  let removing: Promise<void> | undefined;
  return { path, remove: () => (removing ??= rm(path, { recursive: true, force: true })) };
}
