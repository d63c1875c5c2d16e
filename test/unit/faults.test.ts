/** Each cookie fault on plain header objects: no sockets. */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { HarnessError } from '../../harness/errors.js';
import { FAULTS, parseFault } from '../../harness/fault/faults.js';

const request = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as IncomingMessage;
const response = (setCookie: string[]) => ({ headers: { 'set-cookie': setCookie } }) as unknown as IncomingMessage;

describe('cookie faults', () => {
  test('strip-cookie removes the Cookie header', () => {
    const req = request('a=1; sid=x');
    expect(parseFault('strip-cookie').onRequest!(req)?.note).toBe('removed the Cookie header (10 bytes)');
    expect(req.headers.cookie).toBeUndefined();
  });

  test('strip-set-cookie removes every Set-Cookie', () => {
    const res = response(['csrf=1', 'sid=2']);
    expect(parseFault('strip-set-cookie').onResponse!(res)?.note).toBe('removed 2 Set-Cookie headers');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  test('drop-cookie=NAME drops only that cookie', () => {
    const req = request('a=1; sid=x; b=2');
    parseFault('drop-cookie=sid').onRequest!(req);
    expect(req.headers.cookie).toBe('a=1; b=2');
    expect(parseFault('drop-cookie=sid').onRequest!(request('a=1'))).toBeUndefined();
  });

  test('allow-cookies keeps only the listed cookies', () => {
    const req = request('a=1; sid=x; csrf=2');
    expect(parseFault('allow-cookies=csrf,a').onRequest!(req)?.note).toBe('forwarded only csrf, a; dropped sid');
    expect(req.headers.cookie).toBe('a=1; csrf=2');
  });

  test('cap-cookie trims whole cookies past the limit', () => {
    const req = request('a=11111; b=22222; sid=abc');
    expect(parseFault('cap-cookie=16').onRequest!(req)?.note).toBe('trimmed the Cookie header from 25 to 16 bytes (limit 16)');
    expect(req.headers.cookie).toBe('a=11111; b=22222');
  });

  test('cap-cookie=N:431 and :400 reject an oversized header, as Node and nginx do', () => {
    expect(parseFault('cap-cookie=10:431').onRequest!(request('a=11111; b=22222'))?.reject).toEqual({ status: 431, message: 'Request Header Fields Too Large' });
    expect(parseFault('cap-cookie=10:400').onRequest!(request('a=11111; b=22222'))?.reject?.status).toBe(400);
    expect(parseFault('cap-cookie=100:431').onRequest!(request('a=1'))).toBeUndefined();
  });

  test('merge-set-cookie joins several Set-Cookie headers into one (node-http-proxy #1101)', () => {
    const res = response(['csrf=1; Path=/', 'sid=2; Path=/; HttpOnly']);
    parseFault('merge-set-cookie').onResponse!(res);
    expect(res.headers['set-cookie']).toEqual(['csrf=1; Path=/, sid=2; Path=/; HttpOnly']);
  });

  test('drop-forwarded-proto removes X-Forwarded-Proto from the proxied request', () => {
    const headers = new Map<string, string>([['x-forwarded-proto', 'https']]);
    const proxyReq = { getHeader: (n: string) => headers.get(n), removeHeader: (n: string) => headers.delete(n) } as unknown as ClientRequest;
    expect(parseFault('drop-forwarded-proto').onProxyRequest!(proxyReq)?.note).toBe('dropped X-Forwarded-Proto: https');
    expect(headers.has('x-forwarded-proto')).toBe(false);
  });

  test('a probability is parsed from @P', () => {
    expect(parseFault('strip-cookie@0.25').probability).toBe(0.25);
    expect(parseFault('cap-cookie=8192:431@0.5')).toMatchObject({ name: 'cap-cookie', probability: 0.5 });
    expect(parseFault('strip-cookie').probability).toBe(1);
  });

  test('an unknown fault is refused with the list of known ones', () => {
    let error: unknown;
    try {
      parseFault('drop-everything');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HarnessError);
    expect((error as HarnessError).code).toBe('SLAB_ERR_OPTION_INVALID');
    for (const fault of FAULTS) expect((error as HarnessError).message).toContain(fault.usage);
  });

  test('bad values and probabilities are refused, naming the spec', () => {
    expect(() => parseFault('cap-cookie=lots')).toThrow(/"cap-cookie=lots": expected BYTES/);
    expect(() => parseFault('drop-cookie')).toThrow(/expected a cookie name/);
    expect(() => parseFault('strip-cookie@2')).toThrow(/probability must be a number in \(0, 1\]/);
  });
});
