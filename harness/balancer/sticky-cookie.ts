import type { IncomingMessage } from 'node:http';
import { parseCookie, stringifySetCookie } from 'cookie';
import { keepCookies } from '../util/cookie-header.js';
import type { ProxyResponseHead } from './engine/engine.js';
import { RoundRobin } from './round-robin.js';
import type { BalancerTarget, BalancingStrategy, Choice } from './strategy.js';

export const STICKY_COOKIE = 'SLAB_SRV';

/**
 * Sticky sessions by a balancer-inserted cookie, as HAProxy's
 * `cookie SLAB_SRV insert indirect nocache`: the first response pins the
 * client to its backend; the cookie is removed before forwarding
 * (indirect); a client pinned to a backend that is down is re-pinned to
 * another, as `option redispatch` does — which is where its sessions, if
 * they lived in that backend's memory, are lost. A new pin is round-robin's
 * choice, seeded when the run has a seed (round-robin.ts).
 */
export class StickyCookie implements BalancingStrategy {
  readonly name = 'sticky';
  readonly #turns: RoundRobin;

  constructor(seed?: number) {
    this.#turns = new RoundRobin(seed);
  }

  pick(req: IncomingMessage, up: readonly BalancerTarget[], all: readonly BalancerTarget[]): Choice {
    const pinned = req.headers.cookie ? parseCookie(req.headers.cookie)[STICKY_COOKIE] : undefined;
    const current = pinned ? all.find((t) => t.name === pinned) : undefined;
    if (current?.up) return { target: current, pin: 'kept' };
    const { target } = this.#turns.pick(req, up, all);
    return current || pinned ? { target, pin: 'repinned', pinnedBefore: pinned } : { target, pin: 'new' };
  }

  onResponse(_req: IncomingMessage, backendRes: ProxyResponseHead, choice: Choice): void {
    if (choice.pin === 'kept') return;
    const cookie = stringifySetCookie({ name: STICKY_COOKIE, value: choice.target.name, path: '/', httpOnly: true, sameSite: 'lax' });
    const existing = backendRes.headers['set-cookie'] ?? [];
    backendRes.headers['set-cookie'] = [...existing, cookie];
    // nocache: a shared cache must not hand this pin to someone else.
    backendRes.headers['cache-control'] = 'private';
  }

  forwardCookie(cookie: string | undefined): string | undefined {
    if (!cookie || !cookie.includes(`${STICKY_COOKIE}=`)) return cookie;
    return keepCookies(cookie, (name) => name !== STICKY_COOKIE);
  }
}
