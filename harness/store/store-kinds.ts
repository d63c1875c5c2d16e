/**
 * The session stores by their command-line name: the names alone, so that a
 * name is checked without loading Redis clients and topologies
 * (provision-store.ts and replicated-store.ts build on these lists).
 */

/** The replicated stores of issue 9 (replicated-store.ts). */
export const REPLICATED_STORE_KINDS = ['redis-replica-reads', 'redis-replica-reads-wait', 'redis-sentinel', 'redis-cluster'] as const;
export type ReplicatedStoreKind = (typeof REPLICATED_STORE_KINDS)[number];

export function isReplicatedStoreKind(kind: string): kind is ReplicatedStoreKind {
  return (REPLICATED_STORE_KINDS as readonly string[]).includes(kind);
}

/**
 * Each server's own memory; one Redis, records saved whole (last writer
 * wins, as connect-redis); or one Redis with optimistic locking
 * (WATCH/MULTI), which loses no concurrent update.
 */
export type StoreKind = 'memory' | 'redis' | 'redis-locking' | ReplicatedStoreKind;
export const STORE_KINDS: readonly StoreKind[] = ['memory', 'redis', 'redis-locking', ...REPLICATED_STORE_KINDS];
