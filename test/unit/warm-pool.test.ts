/** When a warm backend counts as a fresh fork (warm-pool.ts): no sockets, no processes. */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { BACKEND_CONFIG_ENV } from '../../servers/config.js';
import { DEFAULT_WARM_BACKENDS, forkIdentity, sameIdentity, warmBackendsLimit, WARM_BACKENDS_ENV } from '../../harness/backend/warm-pool.js';

const MARK = 'SLAB_UNIT_WARM_MARK';

afterEach(() => {
  delete process.env[MARK];
  delete process.env[WARM_BACKENDS_ENV];
});

describe('fork identity', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slab-warm-'));
  const script = join(dir, 'app.js');
  writeFileSync(script, '// v1\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the same harness state is the same identity; the backend config it passes is not part of it', () => {
    const before = forkIdentity(script, []);
    process.env[BACKEND_CONFIG_ENV] = '{"name":"app-9"}';
    try {
      expect(sameIdentity(before, forkIdentity(script, []))).toBe(true);
    } finally {
      delete process.env[BACKEND_CONFIG_ENV];
    }
  });

  test('a variable set, changed or removed makes another identity', () => {
    const without = forkIdentity(script, []);
    process.env[MARK] = 'a';
    const withA = forkIdentity(script, []);
    expect(sameIdentity(without, withA)).toBe(false);
    process.env[MARK] = 'b';
    expect(sameIdentity(withA, forkIdentity(script, []))).toBe(false);
    delete process.env[MARK];
    expect(sameIdentity(withA, forkIdentity(script, []))).toBe(false);
    expect(sameIdentity(without, forkIdentity(script, []))).toBe(true);
  });

  test('other flags, another script or the script rebuilt make another identity', () => {
    const base = forkIdentity(script, []);
    expect(sameIdentity(base, forkIdentity(script, ['--inspect']))).toBe(false);
    expect(sameIdentity(base, forkIdentity(join(dir, 'other.js'), []))).toBe(false);
    writeFileSync(script, '// v2, longer\n');
    utimesSync(script, new Date(), new Date(Date.now() + 5000));
    expect(sameIdentity(base, forkIdentity(script, []))).toBe(false);
  });
});

describe(WARM_BACKENDS_ENV, () => {
  test('unset or empty: the default; 0: off; N: at most N idle', () => {
    expect(warmBackendsLimit()).toBe(DEFAULT_WARM_BACKENDS);
    process.env[WARM_BACKENDS_ENV] = '';
    expect(warmBackendsLimit()).toBe(DEFAULT_WARM_BACKENDS);
    process.env[WARM_BACKENDS_ENV] = '0';
    expect(warmBackendsLimit()).toBe(0);
    process.env[WARM_BACKENDS_ENV] = '3';
    expect(warmBackendsLimit()).toBe(3);
  });

  test.each(['-1', '2.5', 'yes', '65', '1e2'])('%s is refused, naming the variable and the value', (value) => {
    process.env[WARM_BACKENDS_ENV] = value;
    expect(() => warmBackendsLimit()).toThrow(expect.objectContaining({ code: 'SLAB_ERR_OPTION_INVALID', message: expect.stringContaining(`${WARM_BACKENDS_ENV}: expected 0`) }));
    expect(() => warmBackendsLimit()).toThrow(JSON.stringify(value));
  });
});
