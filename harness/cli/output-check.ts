/**
 * The output flags (--report, --junit, --summary) checked before anything
 * starts, so a typo costs no run; apart from outputs.ts, which writes them
 * and loads the report renderers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { HarnessError } from '../errors.js';

export interface OutputFlags {
  report?: string;
  junit?: string;
  summary?: string;
}

export function writable(flag: string, file: string, write: (path: string) => void): void {
  try {
    write(resolve(file));
  } catch (error) {
    throw new HarnessError(
      'SLAB_ERR_OPTION_INVALID',
      `--${flag}: cannot write ${JSON.stringify(file)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); expected a writable path`,
      {
        cause: error,
      },
    );
  }
}

/** Fails at once (exit 2) for a destination that cannot be written. */
export function checkOutputs(flags: OutputFlags): void {
  if (flags.report !== undefined) writable('report', flags.report, (dir) => mkdirSync(dir, { recursive: true }));
  if (flags.junit !== undefined) writable('junit', flags.junit, (file) => writeFileSync(file, ''));
  if (flags.summary !== undefined) writable('summary', flags.summary, (file) => writeFileSync(file, ''));
}
