/**
 * The history read as operations on session records: each cart request is
 * an add, a read or a destroy, with the time it was invoked and completed.
 */
import { idHash } from '../history/redact.js';
import type { History, RequestRecord } from '../history/history.js';
import type { Operation } from './anomaly.js';

export interface Op {
  record: RequestRecord;
  kind: 'add' | 'read' | 'destroy' | 'other';
  item?: string;
  cart?: string[];
  invoke: number;
  complete: number;
}

function skus(body: string | undefined): string[] | undefined {
  if (!body) return undefined;
  try {
    const cart = (JSON.parse(body) as { cart?: { sku?: unknown }[] }).cart;
    return Array.isArray(cart) ? cart.map((item) => String(item.sku)) : undefined;
  } catch {
    return undefined;
  }
}

function addedSku(body: string | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const sku = (JSON.parse(body) as { sku?: unknown }).sku;
    return typeof sku === 'string' ? sku : undefined;
  } catch {
    return undefined;
  }
}

export function toOp(record: RequestRecord): Op {
  const invoke = record.time;
  const complete = record.time + record.durationMs;
  const base = { record, invoke, complete };
  if (record.sessionStatus === 'destroyed') return { ...base, kind: 'destroy' };
  if (record.method === 'POST' && record.path === '/cart/items' && record.status === 201) {
    return { ...base, kind: 'add', item: addedSku(record.requestBody), cart: skus(record.responseBody) };
  }
  if (record.method === 'GET' && record.path === '/cart' && record.status === 200) return { ...base, kind: 'read', cart: skus(record.responseBody) };
  return { ...base, kind: 'other' };
}

/** An operation as the report shows it, its times in ms since `start`. */
export function describeOperation(op: Op, start: number): Operation {
  const r = op.record;
  const list = (cart: string[] | undefined) => (cart ? `[${cart.join(', ')}]` : '?');
  const outcome =
    op.kind === 'add'
      ? `add ${op.item} → ${r.status}, cart ${list(op.cart)}`
      : op.kind === 'read'
        ? `read → ${list(op.cart)}`
        : op.kind === 'destroy'
          ? `destroyed the session (${r.status})`
          : `${r.status}, session ${r.sessionStatus}, store write ${r.storeWrite ?? '?'}`;
  return { step: r.step, request: `${r.method} ${r.path}`, invokedAt: Math.round(op.invoke - start), completedAt: Math.round(op.complete - start), outcome };
}

/** When the run started: its event, or the first request. */
export function runStart(history: History): number {
  return history.events.find((e) => e.kind === 'run-started')?.time ?? Math.min(...history.requests.map((r) => r.time));
}

/** Operations on each session (by id hash), in invocation order: the requests whose session the backend loaded, and the destroys. */
export function operationsBySession(requests: readonly RequestRecord[]): { bySession: Map<string, Op[]>; destroys: Op[] } {
  const bySession = new Map<string, Op[]>();
  const destroys: Op[] = [];
  for (const record of requests) {
    if (record.error || !record.sessionIdSent) continue;
    const op = toOp(record);
    if (op.kind === 'destroy') destroys.push(op);
    if (record.sessionStatus !== 'loaded' && op.kind !== 'destroy') continue;
    const key = idHash(record.sessionIdSent);
    let ops = bySession.get(key);
    if (!ops) bySession.set(key, (ops = []));
    ops.push(op);
  }
  for (const ops of bySession.values()) ops.sort((a, b) => a.invoke - b.invoke);
  return { bySession, destroys };
}
