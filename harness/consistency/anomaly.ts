/** What the consistency checker reports: an anomaly and the operations that show it. */
export type AnomalyKind = 'lost-update' | 'read-your-writes' | 'non-monotonic-read' | 'resurrected-session' | 'lost-acknowledged-write';
export const ANOMALY_KINDS: readonly AnomalyKind[] = ['lost-update', 'read-your-writes', 'non-monotonic-read', 'resurrected-session', 'lost-acknowledged-write'];

export interface Operation {
  step: number;
  request: string;
  /** ms since the run started. */
  invokedAt: number;
  completedAt: number;
  /** What it did or saw, e.g. `add book-1 → 201, cart [book-1]`. */
  outcome: string;
}

export interface Anomaly {
  kind: AnomalyKind;
  user: number;
  run: number;
  /** `sid#…` of the session concerned. */
  session: string;
  item?: string;
  evidence: string;
  /** The shortest sequence of operations that shows it, in invocation order. */
  sequence: Operation[];
}
