import { expect } from 'vitest';

interface Verdict {
  cause: string;
  evidence: string;
  backend?: string;
  expected?: boolean;
}

/**
 * Resets of an app whose sessions live in each replica's memory: at least
 * one is replication, each of those names the backend that issued the id and
 * a different one that got it, and nothing else is claimed (what cannot be
 * proven from the wire is unclassified, never another cause).
 */
export function expectReplicationNamingBothBackends(resets: readonly Verdict[]): void {
  const unexpected = resets.filter((v) => !v.expected);
  const replication = unexpected.filter((v) => v.cause === 'replication');
  expect(replication.length, JSON.stringify(unexpected, null, 1)).toBeGreaterThan(0);
  for (const verdict of unexpected) expect(['replication', 'unclassified']).toContain(verdict.cause);
  for (const verdict of replication) {
    const match = /issued by (app-\d) at step \d+ \(POST \/login\); the request carrying it went to (app-\d)/.exec(verdict.evidence);
    expect(match, verdict.evidence).not.toBeNull();
    expect(match![1]).not.toBe(match![2]);
    expect(verdict.backend).toBe(match![2]);
  }
}
