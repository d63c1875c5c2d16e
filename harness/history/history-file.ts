/**
 * Where `--history` goes, checked before anything starts: a path whose
 * directory exists, that is not a directory, a FIFO or a device, nor under
 * /proc, /sys or /dev. The file is created (or truncated) mode 0600 at once,
 * because a history can hold what a user sent; an existing file is made
 * 0600 too.
 */
import { chmodSync, closeSync, openSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HarnessError } from '../errors.js';

export const HISTORY_FILE_MODE = 0o600;

function refuse(path: string, why: string, cause?: unknown): HarnessError {
  const shown = JSON.stringify(path.length > 80 ? `${path.slice(0, 80)}…` : path);
  return new HarnessError('SLAB_ERR_OPTION_INVALID', `--history: ${why}, got ${shown}`, cause === undefined ? undefined : { cause });
}

/** Validates the path and creates the file, empty and 0600; throws a HarnessError (exit 2) naming what is wrong. */
export function prepareHistoryFile(path: string): string {
  if (path.trim() === '') throw refuse(path, 'expected a file path to write the history to');
  const file = resolve(path);
  let directory: string;
  try {
    directory = realpathSync(dirname(file));
    if (!statSync(directory).isDirectory()) throw refuse(path, 'its directory is not a directory');
  } catch (error) {
    if (error instanceof HarnessError) throw error;
    throw refuse(path, `its directory does not exist (${(error as NodeJS.ErrnoException).code})`, error);
  }
  if (/^\/(proc|sys|dev)(\/|$)/.test(directory)) throw refuse(path, 'expected a regular file, not a path under /proc, /sys or /dev');
  let stats;
  try {
    stats = statSync(file);
  } catch {
    // does not exist yet: created below
  }
  if (stats?.isDirectory()) throw refuse(path, 'is a directory; expected a file');
  if (stats && !stats.isFile()) throw refuse(path, 'expected a regular file, not a FIFO, socket or device');
  let fd: number;
  try {
    fd = openSync(file, 'w', HISTORY_FILE_MODE);
  } catch (error) {
    throw refuse(path, `cannot write it (${(error as NodeJS.ErrnoException).code})`, error);
  }
  closeSync(fd);
  // The mode given to open() applies to a new file only.
  chmodSync(file, HISTORY_FILE_MODE);
  return file;
}
