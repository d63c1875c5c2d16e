/** The scratch folders of Redis topologies: removed by stop(), and after a SIGKILL by the next topology's sweep. */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { makeTopologyDir, sweepOrphanDirs } from '../../harness/redis/topology-dir.js';

let parent: string;
beforeEach(async () => {
  parent = await mkdtemp(join(tmpdir(), 'slab-topology-dir-test-'));
});
afterEach(() => rm(parent, { recursive: true, force: true }));

/** The pid of a process that has exited. */
const deadPid = (): number => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

test("a folder whose owner died is swept; a living owner's, one without an owner and other names are kept", async () => {
  const make = async (name: string, owner?: number) => {
    await mkdir(join(parent, name));
    if (owner !== undefined) await writeFile(join(parent, name, 'owner.pid'), `${owner}\n`);
  };
  await make('slab-sentinel-dead', deadPid());
  await make('slab-sentinel-alive', process.pid);
  await make('slab-sentinel-starting');
  await make('other-dead', deadPid());
  expect(await sweepOrphanDirs('slab-sentinel-', parent)).toEqual([join(parent, 'slab-sentinel-dead')]);
  expect((await readdir(parent)).sort()).toEqual(['other-dead', 'slab-sentinel-alive', 'slab-sentinel-starting']);
});

test('makeTopologyDir: owned by this process, swept orphans first, remove() idempotent', async () => {
  await mkdir(join(parent, 'slab-cluster-old'));
  await writeFile(join(parent, 'slab-cluster-old', 'owner.pid'), `${deadPid()}\n`);
  const dir = await makeTopologyDir('slab-cluster-', parent);
  expect(await readdir(parent)).toEqual([dir.path.slice(parent.length + 1)]);
  expect(await sweepOrphanDirs('slab-cluster-', parent)).toEqual([]);
  await Promise.all([dir.remove(), dir.remove()]);
  expect(await readdir(parent)).toEqual([]);
});
