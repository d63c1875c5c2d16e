import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, found from this file whether it runs from source or from dist/. */
export const PACKAGE_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('dist')) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('session-lab: cannot find package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();

/** The compiled reference server: a plain node process starts in tens of ms, no TS loader needed. */
export const SERVER_SCRIPT = join(PACKAGE_ROOT, 'dist', 'servers', 'app.js');

export const SCENARIOS_DIR = join(PACKAGE_ROOT, 'scenarios');
