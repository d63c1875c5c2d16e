/**
 * The `--history FILE` format, written and read back: JSON lines, each with
 * a `type` —
 *
 *   {"type":"topology", …Topology}        first
 *   {"type":"run", scenario, fixed, …}    what was run (scenario, seed)
 *   {"type":"request", …RequestRecord}    one per request, a user's pass at a time
 *   {"type":"event", …ClusterEvent}       last: what happened to the cluster
 *
 * Written as each pass ends (memory stays flat); read in two streaming
 * passes (events first, then requests pass by pass) for the same reason.
 */
import { chmodSync, closeSync, createReadStream, createWriteStream, openSync, realpathSync, statSync, type WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { HarnessError } from '../errors.js';
import type { ClusterEvent, RequestRecord, Topology } from './history.js';
import type { ClientKind } from '../runner/run.js';

/**
 * Where `--history` goes, checked before anything starts: a path whose
 * directory exists, that is not a directory, a FIFO or a device, nor under
 * /proc, /sys or /dev. The file is created (or truncated) mode 0600 at once,
 * because a history can hold what a user sent; an existing file is made
 * 0600 too.
 */
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

/** The `run` line: what was run, so a re-diagnosis can name it. */
export interface HistoryRunInfo {
  scenario: string;
  fixed: boolean;
  users: number;
  seed?: number;
  /** What sent the requests (`--client`); absent in histories written before it was recorded. */
  client?: ClientKind;
  /** Epoch ms the run started. */
  started: number;
}

/** Appends JSON lines to a file, one writer at a time, waiting for the disk when it is behind. */
export class HistoryWriter {
  readonly #out: WriteStream;
  #queue: Promise<void> = Promise.resolve();
  #error: Error | undefined;

  constructor(path: string) {
    // Checked and created 0600 first: a bad path is a one-line error, not an unhandled 'error' event.
    this.#out = createWriteStream(prepareHistoryFile(path), { flags: 'w', mode: HISTORY_FILE_MODE });
    this.#out.on('error', (error) => (this.#error ??= error));
  }

  write(values: unknown[]): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      if (this.#error) throw new HarnessError('SLAB_ERR_OPTION_INVALID', `--history: cannot write: ${this.#error.message}`, { cause: this.#error });
      for (const value of values) if (!this.#out.write(`${JSON.stringify(value)}\n`)) await once(this.#out, 'drain');
    });
    return this.#queue;
  }

  async close(): Promise<void> {
    await this.#queue;
    this.#out.end();
    await once(this.#out, 'finish');
  }
}

export interface HistoryHeader {
  topology: Topology;
  run: HistoryRunInfo | undefined;
  events: ClusterEvent[];
  /** Size in bytes. */
  size: number;
}

type Line = { type?: unknown } & Record<string, unknown>;

async function* lines(file: string): AsyncGenerator<{ number: number; value: Line }> {
  const input = createReadStream(file, 'utf8');
  const reader = createInterface({ input, crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const text of reader) {
      number++;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new HarnessError('SLAB_ERR_HISTORY_INVALID', `${file}: line ${number}: not JSON (${(error as Error).message}); expected a --history file of JSON lines`, { cause: error });
      }
      if (typeof value !== 'object' || value === null || typeof (value as Line).type !== 'string') {
        throw new HarnessError('SLAB_ERR_HISTORY_INVALID', `${file}: line ${number}: expected an object with a "type" (topology, run, request or event), got ${text.slice(0, 80)}`);
      }
      yield { number, value: value as Line };
    }
  } finally {
    reader.close();
    input.destroy();
  }
}

function strip({ type: _type, ...rest }: Line): Record<string, unknown> {
  return rest;
}

/** Reads the topology, run and events (everything but the requests). */
export async function readHistoryHeader(file: string): Promise<HistoryHeader> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    throw new HarnessError('SLAB_ERR_HISTORY_INVALID', `${file}: cannot read history file (${(error as NodeJS.ErrnoException).code}); expected a file written by --history`, { cause: error });
  }
  let topology: Topology | undefined;
  let run: HistoryRunInfo | undefined;
  const events: ClusterEvent[] = [];
  for await (const { number, value } of lines(file)) {
    if (number === 1 && value.type !== 'topology') {
      throw new HarnessError('SLAB_ERR_HISTORY_INVALID', `${file}: line 1: expected the {"type":"topology",…} line a --history file starts with, got type ${JSON.stringify(value.type)}`);
    }
    if (value.type === 'topology') topology = strip(value) as unknown as Topology;
    else if (value.type === 'run') run = strip(value) as unknown as HistoryRunInfo;
    else if (value.type === 'event') events.push(strip(value) as unknown as ClusterEvent);
  }
  if (!topology) throw new HarnessError('SLAB_ERR_HISTORY_INVALID', `${file}: empty; expected a file written by --history`);
  if (!Array.isArray(topology.backends) || typeof topology.cookieName !== 'string') {
    throw new HarnessError('SLAB_ERR_HISTORY_INVALID', `${file}: line 1: the topology has no backends or cookieName; expected a file written by --history`);
  }
  return { topology, run, events, size };
}

/** The request records, a user's pass (all its browsers) at a time, in file order. */
export async function* readHistoryPasses(file: string): AsyncGenerator<RequestRecord[]> {
  let pass: RequestRecord[] = [];
  let key: string | undefined;
  for await (const { number, value } of lines(file)) {
    if (value.type !== 'request') continue;
    const record = strip(value) as unknown as RequestRecord;
    if (!Number.isInteger(record.user) || !Number.isInteger(record.run) || !Number.isInteger(record.step)) {
      throw new HarnessError('SLAB_ERR_HISTORY_INVALID', `${file}: line ${number}: a request without user, run and step numbers`);
    }
    const next = `${record.user}/${record.run}`;
    if (key !== undefined && next !== key) {
      yield pass;
      pass = [];
    }
    key = next;
    pass.push(record);
  }
  if (pass.length) yield pass;
}
