import type { IncomingMessage } from 'node:http';
import type { ProxyRequestHead, ProxyResponseHead } from '../balancer/engine/engine.js';

/**
 * A cookie fault: a small wrapper around one part of the balancer's request
 * handling, as a CDN or proxy misconfiguration would be. Each hook returns
 * a note saying what it did when it acted, which the balancer records with
 * the request, so the diagnosis can quote it.
 */
export interface FaultAction {
  note: string;
  /** Answer the client with this instead of forwarding (a proxy refusing the request). */
  reject?: { status: number; message: string };
}

export interface CookieFault {
  /** As given on the command line, e.g. `cap-cookie=8192:431@0.5`. */
  readonly spec: string;
  /** The fault's name, e.g. `cap-cookie`. */
  readonly name: string;
  /** Chance that it acts on a request, 0 to 1. */
  readonly probability: number;
  /** Before the request is forwarded. */
  onRequest?(req: IncomingMessage): FaultAction | undefined;
  /** On the request to the backend, after the proxy added its X-Forwarded-* headers. */
  onProxyRequest?(proxyReq: ProxyRequestHead): FaultAction | undefined;
  /** On the backend's response, before it is copied to the client. */
  onResponse?(proxyRes: ProxyResponseHead): FaultAction | undefined;
}

/** What a fault module exports: how to build the fault from its value, and its usage. */
export interface FaultDefinition {
  name: string;
  usage: string;
  /** One line for --help and error messages. */
  description: string;
  /** Builds the hooks; throws a message (string) for a bad value. */
  create(value: string | undefined): Omit<CookieFault, 'spec' | 'name' | 'probability'>;
}
