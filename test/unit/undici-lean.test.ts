/**
 * The CLI bundle resolves the harness's `undici` to scripts/bundle/undici-lean.cjs
 * (rolldown.config.js): it must give every name the harness imports from undici,
 * and the very same thing undici's index gives, or the CLI would break where the
 * tests (which load undici itself) pass.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);
const lean = require(join(root, 'scripts', 'bundle', 'undici-lean.cjs')) as Record<string, unknown>;
const undici = require('undici') as Record<string, unknown>;

/** The value names each harness file imports from 'undici' (type-only imports left out: they are gone from the bundle). */
function importedNames(): Map<string, string[]> {
  const names = new Map<string, string[]>();
  const files = readdirSync(join(root, 'harness'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  for (const file of files) {
    const text = readFileSync(join(root, 'harness', file), 'utf8');
    for (const [, clause] of text.matchAll(/^import\s+(?!type\b)\{([^}]*)\}\s*from\s*'undici';/gm)) {
      for (const part of clause.split(',').map((s) => s.trim())) {
        if (!part || part.startsWith('type ')) continue;
        const name = part.split(/\s+as\s+/)[0];
        names.set(name, [...(names.get(name) ?? []), relative(root, join(root, 'harness', file))]);
      }
    }
    expect(text, `${file}: import undici by named imports only, so this test sees what it uses`).not.toMatch(/import\s+\*\s+as\s+\w+\s+from\s+'undici'|import\s+\w+\s+from\s+'undici'/);
  }
  return names;
}

test('the lean undici of the CLI bundle gives every name the harness imports, the same as undici itself', () => {
  const names = importedNames();
  expect([...names.keys()]).toEqual(expect.arrayContaining(['Pool', 'Agent', 'buildConnector', 'util', 'request']));
  for (const [name, files] of names) {
    const where = `${name} (imported by ${files.join(', ')})`;
    expect(lean[name], where).toBeDefined();
    if (name === 'util') {
      for (const [key, value] of Object.entries(undici.util as Record<string, unknown>)) expect((lean.util as Record<string, unknown>)[key], `util.${key}`).toBe(value);
    } else {
      expect(lean[name], where).toBe(undici[name]);
    }
  }
});
