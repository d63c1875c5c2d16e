import type { RequestRecord } from '../history/history.js';

/** Groups records by virtual user, run and browser, each in step order. */
export function sequences(requests: readonly RequestRecord[]): RequestRecord[][] {
  const groups = new Map<string, RequestRecord[]>();
  for (const record of requests) {
    const key = `${record.user}/${record.run}/${record.browser ?? 1}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(record);
  }
  return [...groups.values()].map((group) => group.sort((a, b) => a.step - b.step));
}
