/**
 * The black-box diagnosis: verdicts for apps that report nothing about
 * their sessions, from the wire alone. Every cause it names must be proven
 * by the records; otherwise `unclassified`, naming what is missing.
 */
import { describe, expect, it } from 'vitest';
import { SESSION_DEFAULTS } from '../../servers/config.js';
import { diagnose } from '../../harness/diagnosis/diagnose.js';
import { detectSessionCookie, loginRequiredReason, BLACK_BOX_DEFAULTS } from '../../harness/diagnosis/wire-view.js';
import { witnessRequests } from '../../harness/diagnosis/witness.js';
import type { History, RequestRecord, Witness } from '../../harness/history/history.js';

const NAME = 'connect.sid';

interface Wire {
  step: number;
  request?: string;
  backend?: string;
  /** No balancer record (a --target run). */
  unproxied?: boolean;
  jar?: string;
  /** Sent by the client (default: the jar). */
  sent?: string | null;
  /** Forwarded by the balancer (default: what was sent). */
  forwarded?: string | null;
  issued?: string;
  cleared?: boolean;
  status?: number;
  location?: string;
  at?: number;
  servedBy?: string;
  witnesses?: Witness[];
  expected?: boolean | string;
  jarExpires?: string;
}

function record(w: Wire): RequestRecord {
  const [method, path] = (w.request ?? 'GET /account').split(' ');
  const sent = w.sent === null ? undefined : (w.sent ?? w.jar);
  const forwarded = w.forwarded === null ? undefined : (w.forwarded ?? sent);
  const setCookie = w.issued ? [`${NAME}=${w.issued}; Path=/; HttpOnly; SameSite=Lax`] : w.cleared ? [`${NAME}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT`] : [];
  const after = w.cleared ? undefined : (w.issued ?? w.jar);
  const time = 1_000_000 + (w.at ?? w.step * 10);
  const status = w.status ?? 200;
  return {
    user: 1,
    run: 1,
    browser: 1,
    step: w.step,
    stepName: w.request ?? 'GET /account',
    method,
    path,
    url: `http://shop.example.test${path}`,
    requestId: `t.${w.step}`,
    time,
    durationMs: 1,
    cookieSent: sent ? `${NAME}=${sent}` : undefined,
    sessionIdSent: sent,
    sessionIdInJar: w.jar,
    withheld: undefined,
    status,
    setCookie,
    requestBody: undefined,
    responseBody: '',
    refused: [],
    sessionIdAfter: after,
    jarAfter: after ? [{ name: NAME, value: after, domain: 'shop.example.test', path: '/', secure: false, httpOnly: true, hostOnly: true, sameSite: 'lax', expires: w.jarExpires ?? null }] : [],
    backend: w.backend,
    sessionStatus: undefined,
    sessionUser: undefined,
    backendSessionHash: undefined,
    storeWrite: undefined,
    sessionCookie: undefined,
    expiredBy: undefined,
    proxy: w.unproxied
      ? undefined
      : {
          time,
          requestId: `t.${w.step}`,
          method,
          path,
          scheme: 'http',
          backend: w.backend,
          clientAddress: '127.0.1.1',
          cookieIn: sent ? `${NAME}=${sent}` : undefined,
          cookieOut: forwarded ? `${NAME}=${forwarded}` : undefined,
          forwardedProto: 'http',
          setCookie,
          setCookieOut: setCookie,
          faults: [],
          status,
          durationMs: 1,
        },
    location: w.location,
    servedBy: w.servedBy,
    witnesses: w.witnesses,
    resetExpected: w.expected ?? false,
    failures: [],
  };
}

function history(wires: Wire[]): History {
  return {
    topology: {
      store: 'memory',
      balancer: 'round-robin',
      launcher: 'command',
      backends: ['app-1', 'app-2', 'app-3'],
      cookieName: NAME,
      https: false,
      site: 'shop.example.test',
      session: { ...SESSION_DEFAULTS, cookieName: NAME },
      faults: [],
      blackBox: { ...BLACK_BOX_DEFAULTS, loginRequired: { status: [401], redirectTo: '/login' } },
    },
    requests: wires.map(record),
    proxy: [],
    backendLog: [],
    events: [],
  };
}

const toLogin = { status: 302, location: '/login' };
const landAndLogin: Wire[] = [
  { step: 1, request: 'GET /', backend: 'app-1' },
  { step: 2, request: 'POST /login', backend: 'app-2', issued: 'Y', status: 302, location: '/account' },
];

describe('black-box diagnosis', () => {
  it('names replication with the issuing and the receiving backend when the issuer still accepts the id later', () => {
    const verdicts = diagnose(history([...landAndLogin, { step: 3, backend: 'app-3', jar: 'Y', ...toLogin }, { step: 4, backend: 'app-2', jar: 'Y' }]));
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatchObject({ step: 3, cause: 'replication', backend: 'app-3' });
    expect(verdicts[0].evidence).toContain('issued by app-2 at step 2 (POST /login)');
    expect(verdicts[0].evidence).toContain('went to app-3');
    expect(verdicts[0].evidence).toContain('app-2 accepted it again at step 4');
  });

  it('takes a witness sent straight to the issuer after the pass as the same proof', () => {
    const witness: Witness = { backend: 'app-2', method: 'GET', path: '/account', time: 2_000_000, status: 200, newId: false };
    const verdicts = diagnose(history([...landAndLogin, { step: 3, backend: 'app-3', jar: 'Y', ...toLogin, issued: 'Z', witnesses: [witness] }]));
    expect(verdicts).toMatchObject([{ step: 3, cause: 'replication' }]);
    expect(verdicts[0].evidence).toContain('with a new connect.sid');
  });

  it('reads signed express-session ids the same in the jar (encoded) and in headers (decoded)', () => {
    const h = history([
      { step: 1, request: 'POST /login', backend: 'app-2', issued: 's:abc.sig', status: 302, location: '/account' },
      { step: 2, backend: 'app-3', jar: 's:abc.sig', ...toLogin },
      { step: 3, backend: 'app-2', jar: 's:abc.sig' },
    ]);
    for (const r of h.requests) {
      if (r.sessionIdInJar) r.sessionIdInJar = encodeURIComponent(r.sessionIdInJar);
      if (r.sessionIdAfter) r.sessionIdAfter = encodeURIComponent(r.sessionIdAfter);
    }
    expect(diagnose(h)).toMatchObject([{ step: 2, cause: 'replication' }]);
  });

  it('says unclassified, not replication, when nothing shows the session still alive (it may have expired)', () => {
    const witness: Witness = { backend: 'app-2', method: 'GET', path: '/account', time: 2_000_000, ...toLogin, newId: false };
    for (const witnesses of [undefined, [witness]]) {
      const verdicts = diagnose(history([...landAndLogin, { step: 3, backend: 'app-3', jar: 'Y', ...toLogin, witnesses }]));
      expect(verdicts).toMatchObject([{ step: 3, cause: 'unclassified' }]);
      expect(verdicts[0].evidence).toContain('cannot be ruled out');
    }
  });

  it('says unclassified when the backend that issued the id refuses it itself', () => {
    const verdicts = diagnose(history([...landAndLogin, { step: 3, backend: 'app-2', jar: 'Y', ...toLogin }, { step: 4, backend: 'app-2', jar: 'Y' }]));
    expect(verdicts).toMatchObject([{ step: 3, cause: 'unclassified' }]);
    expect(verdicts[0].evidence).toContain('no longer took it');
  });

  it('names transmission when the balancer received the cookie and did not forward it', () => {
    const verdicts = diagnose(history([...landAndLogin, { step: 3, backend: 'app-3', jar: 'Y', forwarded: null, ...toLogin }, { step: 4, backend: 'app-2', jar: 'Y' }]));
    expect(verdicts).toMatchObject([{ step: 3, cause: 'transmission' }]);
    expect(verdicts[0].evidence).toContain('forwarded no connect.sid cookie to app-3');
  });

  it('names transmission when the client held the cookie and did not send it', () => {
    const verdicts = diagnose(history([...landAndLogin, { step: 3, backend: 'app-3', jar: 'Y', sent: null, ...toLogin }]));
    expect(verdicts).toMatchObject([{ step: 3, cause: 'transmission' }]);
  });

  it('names expiry when the cookie ran out in the client', () => {
    const verdicts = diagnose(
      history([
        { step: 1, request: 'POST /login', backend: 'app-1', issued: 'Y', status: 302, location: '/account', jarExpires: new Date(1_000_015).toUTCString() },
        { step: 2, backend: 'app-1', at: 5000, ...toLogin },
      ]),
    );
    expect(verdicts).toMatchObject([{ step: 2, cause: 'expiry' }]);
  });

  it('from the client view only (--target), names what is missing instead of a cause', () => {
    const unproxied = (w: Wire): Wire => ({ ...w, unproxied: true, servedBy: w.backend, backend: undefined });
    const verdicts = diagnose(history([...landAndLogin, { step: 3, backend: 'app-3', jar: 'Y', ...toLogin }, { step: 4, backend: 'app-2', jar: 'Y' }].map(unproxied)));
    expect(verdicts).toMatchObject([{ step: 3, cause: 'unclassified', backend: 'app-3' }]);
    expect(verdicts[0].evidence).toContain('what that backend received');
    const unnamed = diagnose(history([...landAndLogin, { step: 3, backend: 'app-3', jar: 'Y', ...toLogin }].map((w) => ({ ...w, unproxied: true, backend: undefined }))));
    expect(unnamed[0].evidence).toContain('--backend-header');
  });

  it('a new id at login and a shared store that keeps it: no reset', () => {
    const verdicts = diagnose(history([...landAndLogin, { step: 3, backend: 'app-3', jar: 'Y' }, { step: 4, backend: 'app-1', jar: 'Y' }]));
    expect(verdicts).toEqual([]);
  });

  it('a logout is a reset the user asked for (code)', () => {
    const verdicts = diagnose(history([...landAndLogin, { step: 3, request: 'POST /logout', backend: 'app-3', jar: 'Y', cleared: true, status: 302, location: '/', expected: 'code' }]));
    expect(verdicts).toMatchObject([{ step: 3, cause: 'code', expected: true }]);
  });

  it('an anonymous visitor sent to the login page is not a reset', () => {
    expect(
      diagnose(
        history([
          { step: 1, request: 'GET /', backend: 'app-1', issued: 'X' },
          { step: 2, backend: 'app-2', jar: 'X', ...toLogin },
        ]),
      ),
    ).toEqual([]);
  });

  it('asks for a witness only where one can prove replication, and only for requests that change nothing', () => {
    const h = history([
      ...landAndLogin,
      { step: 3, backend: 'app-3', jar: 'Y', ...toLogin },
      { step: 4, request: 'POST /account', backend: 'app-1', jar: 'Y', ...toLogin },
      { step: 5, backend: 'app-2', jar: 'Y', ...toLogin },
    ]);
    const wanted = witnessRequests(h.requests, NAME, h.topology.blackBox!);
    expect(wanted.map((w) => [w.record.step, w.backend])).toEqual([[3, 'app-2']]);
  });
});

describe('session cookie detection', () => {
  it('finds the framework cookie among several Set-Cookie headers', () => {
    expect(detectSessionCookie(['csrf=abc; Path=/', 'connect.sid=s%3Axyz; Path=/; HttpOnly'])).toBe('connect.sid');
    expect(detectSessionCookie(['JSESSIONID=1; Path=/'])).toBe('JSESSIONID');
    expect(detectSessionCookie(['myapp_sess=1; Path=/', 'theme=dark'])).toBe('myapp_sess');
    expect(detectSessionCookie(['token=1; HttpOnly'])).toBe('token');
  });

  it('waits when the headers do not tell', () => {
    expect(detectSessionCookie([])).toBeUndefined();
    expect(detectSessionCookie(['csrf=1'])).toBeUndefined();
    expect(detectSessionCookie(['a=1', 'b=2'])).toBeUndefined();
  });
});

describe('login-required answers', () => {
  const rules = { ...BLACK_BOX_DEFAULTS, loginRequired: { status: [401, 403], redirectTo: '/signin', bodyContains: 'Please sign in' } };
  it('reads a status, a redirect to the login page and a body marker', () => {
    expect(loginRequiredReason({ status: 403 }, rules)).toBe('403');
    expect(loginRequiredReason({ status: 302, location: 'https://shop.example.test/signin?next=%2F' }, rules)).toContain('redirect');
    expect(loginRequiredReason({ status: 200, responseBody: '<p>Please sign in</p>' }, rules)).toContain('Please sign in');
    expect(loginRequiredReason({ status: 302, location: '/signing-party' }, rules)).toBeUndefined();
    expect(loginRequiredReason({ status: 200, responseBody: 'welcome' }, rules)).toBeUndefined();
  });
});
