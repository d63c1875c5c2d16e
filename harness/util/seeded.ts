/**
 * Replayable chance. A run has a seed (given with --seed, else drawn and
 * reported); whatever session-lab's own balancer leaves to chance is drawn
 * from the seed and the request's identity (user, pass, step — see
 * balancer/request-identity.ts), never from the order concurrent requests
 * happen to arrive in. So the same seed gives the same choices, and any run
 * can be replayed from the seed it printed.
 */
import { randomInt } from 'node:crypto';

/** Seeds are integers from 0 to MAX_SEED (32 bits). */
export const MAX_SEED = 0xffff_ffff;

export function newSeed(): number {
  return randomInt(0, MAX_SEED);
}

export function isSeed(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_SEED;
}

/** mulberry32: a small, well-distributed 32-bit generator; numbers in [0, 1). */
export function seededStream(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the key, mixed with the seed. */
function mix(seed: number, key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h ^ seed) >>> 0;
}

/** A number in [0, 1) fixed by the seed and `key`: the same pair always draws the same number. */
export function drawFor(seed: number, key: string): number {
  return seededStream(mix(seed, key))();
}

/** 0 … n-1 in an order fixed by the seed and `key` (Fisher–Yates over a seeded stream). */
export function permutation(seed: number, key: string, n: number): number[] {
  const next = seededStream(mix(seed, key));
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
