/** The four causes a reset can have (session-resets.md). */
export const NAMED_CAUSES = ['replication', 'transmission', 'code', 'expiry'] as const;
export type ResetCause = (typeof NAMED_CAUSES)[number] | 'unclassified';
export const RESET_CAUSES: readonly ResetCause[] = [...NAMED_CAUSES, 'unclassified'];
