import type { SessionSettings } from '../../servers/config.js';
import type { ClusterEvent, History } from '../history/history.js';
import type { ResetCause } from './causes.js';
import type { Evidence, EventFact } from './evidence.js';

/** What every rule of the diagnosis reads besides the request in hand. */
export interface DiagnosisContext {
  history: History;
  cookieName: string;
  session: SessionSettings;
  /** Sessions live in each backend's own memory. */
  perProcessStore: boolean;
  balancer: string;
  /** Epoch ms the run started: evidence times count from it. */
  runStart: number;
}

/** A cause and the recorded values that prove it. */
export interface Finding {
  cause: ResetCause;
  facts: Evidence;
}

export const eventFact = (context: DiagnosisContext, e: ClusterEvent): EventFact => ({
  kind: e.kind,
  ...(e.backend !== undefined ? { backend: e.backend } : {}),
  atMs: e.time - context.runStart,
  ...(e.fault ? { fault: e.fault } : {}),
  ...(e.lostBy !== undefined && e.lostBy > e.time ? { lostByMs: e.lostBy - context.runStart } : {}),
  ...(e.ongoing ? { ongoing: true } : {}),
});
