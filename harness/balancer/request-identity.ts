/**
 * Who sent a request and where in the scenario it is, as the runner writes
 * it into X-Slab-Request-Id: `RUNID.USER.PASS.STEP`. The random RUNID joins
 * the balancer's record to the client's; USER.PASS.STEP is the identity a
 * seeded strategy draws from (util/seeded.ts), the same in every run.
 */
import type { IncomingMessage } from 'node:http';
import { REQUEST_ID_HEADER } from './record.js';

export interface RequestIdentity {
  user: number;
  /** The pass (repeat) number, from 1. */
  run: number;
  step: number;
}

export function formatRequestId(runId: string, { user, run, step }: RequestIdentity): string {
  return `${runId}.${user}.${run}.${step}`;
}

const ID = /^[^.]*\.(\d+)\.(\d+)\.(\d+)$/;

/** The identity in a request's X-Slab-Request-Id; undefined for requests the runner did not send. */
export function requestIdentity(req: Pick<IncomingMessage, 'headers'>): RequestIdentity | undefined {
  const value = req.headers[REQUEST_ID_HEADER];
  const match = typeof value === 'string' ? ID.exec(value) : null;
  if (!match) return undefined;
  return { user: Number(match[1]), run: Number(match[2]), step: Number(match[3]) };
}
