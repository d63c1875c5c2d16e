/**
 * A stack trace from the bundled CLI, mapped back to the per-module files in
 * dist/ through the bundle's source maps — done only when a trace is
 * printed, because `--enable-source-maps` would parse every map on every
 * start (4 MB of JSON, ~0.08 s of CPU per CLI process; node 20 cannot enable
 * maps after a module has loaded). Frames without a map stay as they were.
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const FRAME = /(file:\/\/[^\s()]+?\.js):(\d+):(\d+)/g;

export function mapStack(stack: string): string {
  const maps = new Map<string, SourceMap | undefined>();
  const mapFor = (file: string): SourceMap | undefined => {
    if (!maps.has(file)) {
      try {
        maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))));
      } catch {
        maps.set(file, undefined);
      }
    }
    return maps.get(file);
  };
  return stack.replace(FRAME, (frame: string, url: string, line: string, column: string) => {
    let file: string;
    try {
      file = fileURLToPath(url);
    } catch {
      return frame;
    }
    const entry = mapFor(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry || !('originalSource' in entry) || !entry.originalSource) return frame;
    const source = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : resolve(dirname(file), entry.originalSource);
    return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}
