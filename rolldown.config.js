/**
 * The bundles `npm run build` makes from tsc's output in dist/: a process
 * that loads one file instead of ~150 modules starts with far less CPU, and
 * the tests start both many times (a backend per server, the CLI per case).
 *
 *   dist/servers/app.js       ──▶ dist/servers/bundle/app.js      (each backend process)
 *   dist/harness/cli/main.js  ──▶ dist/harness/cli/bundle/main.js (the `session-lab` bin)
 *   dist/servers/express/server.js ──▶ dist/servers/express/bundle/server.js (--server express)
 *
 * The CLI leaves out what it loads lazily, only for the run that needs it
 * (playwright-core for --client chromium, testcontainers for Docker,
 * selfsigned for an https front, xmllint-wasm is the tests' only): bundled,
 * they would be parsed by every run. Chunks keep stable names (no hash) so
 * a rebuild replaces them instead of leaving old ones for `npm pack`; source
 * maps lead back to the per-module files in dist/, which is what the CLI's
 * "internal error" stack trace is mapped through (harness/util/stack-map.ts).
 */
import { chmodSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { defineConfig } from 'rolldown';

/** The harness's `undici` in the CLI bundle: only the parts it uses (scripts/bundle/undici-lean.cjs says why). */
const UNDICI_LEAN = fileURLToPath(new URL('./scripts/bundle/undici-lean.cjs', import.meta.url));
const undiciLean = {
  name: 'undici-lean',
  resolveId: (source, importer) => (source === 'undici' && importer !== UNDICI_LEAN ? UNDICI_LEAN : null),
};

/**
 * The built-in scenarios, validated once here (from tsc's output) instead of
 * by every CLI run that names one: built-in-scenarios.js next to main.js,
 * each with the text it came from (harness/scenario/prebuilt.ts reads it).
 * A scenario JSON would not carry exactly (an undefined, a non-finite
 * number) is left out: it is read and validated at run time.
 */
const builtInScenarios = {
  name: 'built-in-scenarios',
  async generateBundle() {
    const { validateScenarioText } = await import('./dist/harness/scenario/load.js');
    const { builtInScenarioNames, locateScenario } = await import('./dist/harness/scenario/locate.js');
    const { PREBUILT_SCENARIOS_FILE } = await import('./dist/harness/scenario/prebuilt.js');
    const table = {};
    for (const name of builtInScenarioNames()) {
      const file = locateScenario(name);
      let text = readFileSync(file, 'utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      const scenario = validateScenarioText(file, text);
      if (!isDeepStrictEqual(JSON.parse(JSON.stringify(scenario)), scenario)) continue;
      table[basename(file)] = { text, scenario };
    }
    this.emitFile({ type: 'asset', fileName: PREBUILT_SCENARIOS_FILE, source: `export default JSON.parse(${JSON.stringify(JSON.stringify(table))});\n` });
  },
};

/** The `session-lab` bin is executable, as npm makes it on install: rolldown writes it 0644, so `npm run build` took the bit away. */
const executableBin = {
  name: 'executable-bin',
  writeBundle(options, bundle) {
    for (const file of Object.values(bundle)) if (file.type === 'chunk' && file.isEntry && file.code.startsWith('#!')) chmodSync(join(options.dir, file.fileName), 0o755);
  },
};

export default defineConfig([
  {
    input: 'dist/servers/app.js',
    platform: 'node',
    logLevel: 'silent',
    output: { dir: 'dist/servers/bundle', format: 'esm' },
  },
  {
    // The Express reference server (--server express): one file instead of
    // Express's ~60 modules, ~0.1 s less CPU per start; connect-redis and
    // ioredis stay import()ed chunks, loaded only with REDIS_URL.
    input: { server: 'dist/servers/express/server.js' },
    platform: 'node',
    logLevel: 'silent',
    output: { dir: 'dist/servers/express/bundle', format: 'esm', chunkFileNames: '[name].js', cleanDir: true },
  },
  {
    input: { main: 'dist/harness/cli/main.js' },
    platform: 'node',
    logLevel: 'silent',
    external: ['playwright-core', 'testcontainers', 'selfsigned', 'xmllint-wasm'],
    plugins: [undiciLean, builtInScenarios, executableBin],
    // The lazy chunks import what they share with main.js from main.js itself, not from a second file.
    preserveEntrySignatures: 'allow-extension',
    output: {
      dir: 'dist/harness/cli/bundle',
      format: 'esm',
      sourcemap: true,
      sourcemapExcludeSources: true,
      chunkFileNames: '[name].js',
      cleanDir: true,
      // Everything main.ts imports statically (what checks the input) stays in main.js, one file;
      // what it import()s once the input is good becomes chunks next to it.
      codeSplitting: {
        groups: [
          { name: 'main', tags: ['$initial'] },
          // A scenario file is parsed (yaml) and validated (zod) before anything else is loaded; a built-in one the build
          // validated needs neither. The schema is a chunk of its own: the run chunk validates cluster options with it.
          { name: 'schema', test: /node_modules[\\/]zod[\\/]|harness[\\/]scenario[\\/]schema\.js$/ },
          { name: 'scenario', test: /node_modules[\\/]yaml[\\/]|harness[\\/]scenario[\\/]load\.js$/ },
          // A Redis store's client and topologies: loaded (import() in store/provision-store.ts) only by runs with a Redis.
          // (Not the packages it shares with the run chunk, such as debug: they stay there.)
          {
            name: 'redis',
            includeDependenciesRecursively: false,
            test: /node_modules[\\/](ioredis|@ioredis[\\/]commands|denque|cluster-key-slot|redis-errors|redis-parser|standard-as-callback|lodash\.defaults|lodash\.isarguments)[\\/]|harness[\\/]redis[\\/](provision|topology|topology-dir|replica-set|replication-link|sentinel|redis-cluster)\.js$|harness[\\/]store[\\/]replicated-store\.js$/,
          },
          // A good run loads the cluster, runner, diagnosis and reports together: one chunk, not a dozen.
          // Docker's and Redis containers' modules stay chunks of their own, loaded only by the runs that use them.
          { name: 'run', test: (id) => !/redis-container|reference-image|[\\/]docker[\\/]/.test(id) },
        ],
      },
    },
  },
]);
