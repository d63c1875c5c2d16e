/**
 * Regression: our Chromium flags once carried a --disable-features of their
 * own, and Chromium keeps only the last one given, so playwright-core's list
 * (HTTPS-Upgrades off, no start-up queries to Google) was silently replaced.
 */
import { expect, test } from 'vitest';
import { CHROMIUM_FLAGS } from '../../harness/util/chromium.js';

test("no --disable-features or --enable-features of our own: they would replace playwright-core's lists", () => {
  expect(CHROMIUM_FLAGS.filter((flag) => /^--(disable|enable)-features\b/.test(flag))).toEqual([]);
});
