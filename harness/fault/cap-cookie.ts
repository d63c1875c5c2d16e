import { cookiePairs } from '../util/cookie-header.js';
import type { FaultDefinition } from './fault.js';

/**
 * A limit on the Cookie header, as proxies have: trim it to what fits, or
 * refuse the request as nginx (400, large_client_header_buffers 8 KiB per
 * line), Node (431, 16 KiB of headers) and HAProxy (tune.bufsize) do.
 */
export const capCookie: FaultDefinition = {
  name: 'cap-cookie',
  usage: 'cap-cookie=BYTES[:trim|400|431]',
  description: 'limit the Cookie header to BYTES: trim whole cookies past it, or reject with 400 or 431',
  create(value) {
    const match = /^(\d+)(?::(trim|400|431))?$/.exec(value ?? '');
    if (!match || Number(match[1]) < 1) throw 'expected BYTES[:trim|400|431], e.g. cap-cookie=8192 or cap-cookie=8192:431';
    const limit = Number(match[1]);
    const mode = match[2] ?? 'trim';
    return {
      onRequest(req) {
        const header = req.headers.cookie;
        if (!header) return undefined;
        const size = Buffer.byteLength(header);
        if (size <= limit) return undefined;
        if (mode !== 'trim') {
          const status = Number(mode);
          return {
            note: `rejected the request with ${status}: Cookie header ${size} bytes > limit ${limit}`,
            reject: { status, message: status === 431 ? 'Request Header Fields Too Large' : 'Request Header Or Cookie Too Large' },
          };
        }
        const kept: string[] = [];
        let length = 0;
        for (const pair of cookiePairs(header)) {
          const added = Buffer.byteLength(pair) + (kept.length ? 2 : 0);
          if (length + added > limit) break;
          kept.push(pair);
          length += added;
        }
        if (kept.length) req.headers.cookie = kept.join('; ');
        else delete req.headers.cookie;
        return { note: `trimmed the Cookie header from ${size} to ${length} bytes (limit ${limit})` };
      },
    };
  },
};
