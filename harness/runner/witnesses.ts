/**
 * Witnesses for black-box verdicts (diagnosis/witness.ts picks them): right
 * after it was answered, each request that one backend answered with "log in
 * first" is sent again, straight to the backend that issued its session
 * id, with the same Cookie header the balancer forwarded. Only GET and
 * HEAD, so nothing changes; the answer is kept on the record for the
 * (pure) diagnosis. When the run has a Redis, whether it held the session
 * right then is kept too: a session the shared store held, that one
 * backend accepted and another refused, was refused by that backend's own
 * configuration (its signing secret), not lost.
 */
import { request } from 'undici';
import type { StartedCluster } from '../cluster.js';
import { witnessRequests } from '../diagnosis/witness.js';
import { sessionSetCookie, type BlackBoxRules } from '../diagnosis/wire-view.js';
import type { RequestRecord, Witness } from '../history/history.js';
import { redisHoldsSession } from '../redis/session-key.js';
import { budgetShare } from '../util/budget.js';

const BODY_LIMIT = 4096;

/** Sends the witnesses `records` call for (only those for `only`, when given: the requests just made). */
export async function sendWitnesses(
  cluster: Pick<StartedCluster, 'backends' | 'history'> & { redis?: StartedCluster['redis'] },
  records: RequestRecord[],
  cookieName: string,
  rules: BlackBoxRules,
  only?: ReadonlySet<RequestRecord>,
): Promise<void> {
  const wanted = witnessRequests(records, cookieName, rules).filter(({ record }) => !only || only.has(record));
  for (const { record, backend } of wanted) {
    const target = cluster.backends.find((b) => b.name === backend);
    if (!target) continue;
    const url = new URL(record.path, target.url);
    const time = Date.now();
    const witness: Witness = { backend, method: record.method, path: record.path, time, status: 0, newId: false };
    try {
      const headers: Record<string, string> = { host: cluster.history.topology.site, 'x-forwarded-proto': record.proxy?.forwardedProto ?? 'http' };
      const cookie = record.proxy?.cookieOut ?? record.cookieSent;
      if (cookie) headers.cookie = cookie;
      const res = await request(url, { method: record.method as 'GET' | 'HEAD', headers, headersTimeout: 10_000, bodyTimeout: 10_000 });
      const body = await res.body.text();
      const setCookie = res.headers['set-cookie'];
      const issued = sessionSetCookie(setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie], cookieName, time);
      witness.status = res.statusCode;
      witness.newId = issued !== undefined && issued.value !== record.sessionIdSent;
      const location = res.headers.location;
      if (typeof location === 'string') witness.location = location;
      if (body.length <= BODY_LIMIT) witness.responseBody = body;
    } catch (error) {
      witness.error = (error as Error).message;
    }
    if (cluster.redis && record.sessionIdSent !== undefined) {
      let value = record.sessionIdSent;
      try {
        value = decodeURIComponent(value);
      } catch {
        // kept as sent
      }
      // Not knowing is no evidence: a failed lookup leaves the field out.
      const held = await redisHoldsSession(cluster.redis.url, value, budgetShare(1 / 15)).catch(() => undefined);
      if (held !== undefined) witness.storeHeld = held;
    }
    (record.witnesses ??= []).push(witness);
  }
}
