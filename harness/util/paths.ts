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

/** The reference server, compiled and bundled into one file: a plain node process that starts in well under 100 ms. */
export const SERVER_SCRIPT = join(PACKAGE_ROOT, 'dist', 'servers', 'bundle', 'app.js');

export const SCENARIOS_DIR = join(PACKAGE_ROOT, 'scenarios');
