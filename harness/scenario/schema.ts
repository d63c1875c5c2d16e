import { z } from 'zod';
import { isHeaderName, TOKEN } from '../util/token.js';
import { FRONT_NAMES } from '../balancer/names.js';
import { NAMED_CAUSES } from '../diagnosis/causes.js';
import { validateFault } from '../fault/faults.js';
import { REPLICA_PLACEHOLDERS, unknownPlaceholder } from '../backend/replica-env.js';

/**
 * A scenario is data: an ordered list of steps that share one virtual
 * user's context (cookie jar, last session id, logged-in user), the cluster
 * and client it needs, and — for scenarios that demonstrate a reset — the
 * misconfiguration that causes it, which `--fixed` leaves out. Files live
 * in scenarios/ as YAML or JSON and are validated here, every error with
 * its path inside the file.
 */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
const CAUSES = NAMED_CAUSES;

const ms = (max: number) => z.number().int().min(0).max(max);

export const SessionSettingsSchema = z.strictObject({
  cookieName: z.string().regex(TOKEN, { message: 'expected an RFC 6265 cookie name' }).optional(),
  ttlMs: ms(7 * 24 * 3600_000)
    .min(1)
    .optional(),
  idleTimeoutMs: ms(7 * 24 * 3600_000).optional(),
  absoluteTimeoutMs: ms(7 * 24 * 3600_000).optional(),
  secureCookie: z.enum(['on', 'off', 'auto']).optional(),
  trustProxy: z.boolean().optional(),
  cookieMaxAgeMs: ms(400 * 24 * 3600_000).optional(),
  sameSite: z.enum(['lax', 'strict', 'none']).optional(),
  rolling: z.boolean().optional(),
  regenerateKeepsData: z.boolean().optional(),
  partnerLinkScheme: z.enum(['http', 'https']).optional(),
});

/** Header names and values as undici accepts them: a name is an RFC 9110 token, a value has no CR, LF or NUL. */
const HeaderValue = z.string().regex(/^[\t\x20-\x7e\x80-\xff]*$/, { message: 'expected a header value without control characters (CR, LF, NUL…)' });
const HEADERS_SET_BY_THE_CLIENT = ['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect'];

/** The `{{templates}}` a path or body may use, filled in per request (harness/runner/steps.ts). */
export const TEMPLATE_NAMES = ['user', 'run', 'step'] as const;

const FaultSpec = z.string().superRefine((spec, ctx) => {
  try {
    validateFault(spec);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/^--fault: /, '') });
  }
});

/** The user's own app, run from a command (harness/backend/command-launcher.ts). */
export const AppSchema = z.strictObject({
  /** A shell command; or `server: express` for the bundled Express server. One of the two (a misconfiguration may give only `env`). */
  command: z.string().min(1, { message: 'expected a shell command, e.g. "node app.js"' }).optional(),
  server: z.enum(['express']).optional(),
  /** Relative to the scenario file. */
  cwd: z.string().min(1).optional(),
  /** `{BACKEND_ID}` / `{REPLICA}` in a value: per replica (backend/replica-env.ts). */
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'expected an environment variable name' }),
      z.string().refine((value) => unknownPlaceholder(value) === undefined, {
        message: `expected only the placeholders ${REPLICA_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')} in a value`,
      }),
    )
    .optional(),
  ready: z.string().startsWith('/', { message: 'expected a path starting with "/"' }).optional(),
  startTimeoutMs: z.number().int().min(1).max(600_000).optional(),
  cookieName: z
    .string()
    .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: 'expected an RFC 6265 cookie name' })
    .optional(),
});

/** How a black-box app's answers are read (diagnosis/wire-view.ts). */
export const BlackBoxSchema = z.strictObject({
  loginPath: z.string().startsWith('/').optional(),
  logoutPath: z.string().startsWith('/').optional(),
  loginRequired: z
    .strictObject({
      status: z.array(z.number().int().min(100).max(599)).min(1).optional(),
      redirectTo: z.string().startsWith('/').optional(),
      bodyContains: z.string().min(1).optional(),
    })
    .optional(),
});

export const ClusterSchema = z.strictObject({
  servers: z.number().int().min(1).max(64).optional(),
  store: z.enum(['memory', 'redis', 'redis-locking', 'redis-replica-reads', 'redis-replica-reads-wait', 'redis-sentinel', 'redis-cluster']).optional(),
  balancer: z.enum(FRONT_NAMES as [string, ...string[]]).optional(),
  /** The balancer also listens on https. */
  https: z.boolean().optional(),
  session: SessionSettingsSchema.optional(),
  /** Cookie faults at the balancer, as for --fault. */
  faults: z.array(FaultSpec).optional(),
  /** Run the user's app (a command) instead of the reference server. */
  app: AppSchema.optional(),
});

export const ClientSchema = z.strictObject({
  /** Which listener the user starts on; default https when the cluster has an https front. */
  scheme: z.enum(['http', 'https']).optional(),
  /** `site`: the site's hostname (shop.example.test), as a real user; or a loopback name. */
  host: z.enum(['site', 'localhost', '127.0.0.1']).optional(),
  cookies: z.enum(['accept', 'refuse']).optional(),
  secureOnLocal: z.boolean().optional(),
});

export const ExpectSchema = z.strictObject({
  /** Response status code. */
  status: z.number().int().min(100).max(599).optional(),
  /** The response body contains this text. */
  bodyContains: z.string().optional(),
  /** JSON body fields equal these values; keys are dotted paths (`user`, `cart.0.sku`). */
  json: z.record(z.string(), z.unknown()).optional(),
  /** The backend saw this user logged in; null means logged out. */
  loggedInAs: z.string().nullable().optional(),
  /** The session id after the step equals the one before it. */
  sameSession: z.boolean().optional(),
  /**
   * A session reset is expected at this step: true, or the cause it must
   * have. `logout`: the user asked for it (cause code); unlike the others
   * it is still expected with --fixed, having nothing to do with the
   * misconfiguration.
   */
  reset: z.union([z.boolean(), z.enum(CAUSES), z.literal('logout')]).optional(),
});

export const StepSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    /** A pause before the next step, in ms: the user's think time. */
    wait: ms(120_000).min(1).optional(),
    method: z.enum(HTTP_METHODS).optional(),
    path: z.string().startsWith('/', { message: 'expected a path starting with "/"' }).optional(),
    /** Request the absolute URL found in this JSON field of the previous response (a link handed out). */
    follow: z.string().min(1).optional(),
    /** Use this scheme for this step (the same site over http or https). */
    scheme: z.enum(['http', 'https']).optional(),
    /** Which of the user's browsers (separate cookie jars) sends it. */
    browser: z.number().int().min(1).max(8).optional(),
    /** The page the request is made from, e.g. a link on another site: https://partner.test/offers (SameSite rules). */
    from: z.url({ protocol: /^https?$/ }).optional(),
    /** In a `together` group: leave this many ms after the group starts (to order a race). */
    startAfterMs: ms(60_000).optional(),
    headers: z.record(z.string(), HeaderValue).optional(),
    /** A JSON request body; sets content-type: application/json. */
    json: z.unknown().optional(),
    /** A raw request body. */
    body: z.string().optional(),
    /** Run this step this many times in a row (each is its own numbered step). */
    repeat: z.number().int().min(1).max(10_000).optional(),
    expect: ExpectSchema.optional(),
    /** Requests sent at the same time from the same browser (concurrent requests of one user). */
    together: z
      .array(z.lazy((): z.ZodType<ScenarioStep> => StepSchema))
      .min(2)
      .max(64)
      .optional(),
  })
  .superRefine((step, ctx) => {
    if (step.together !== undefined) {
      for (const key of Object.keys(step) as (keyof typeof step)[]) {
        if (key !== 'together' && key !== 'name' && key !== 'repeat' && step[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'a "together" group takes only "together", "name" and "repeat"; put request fields in its steps' });
        }
      }
      step.together.forEach((inner, i) => {
        if (inner.wait !== undefined || inner.together !== undefined || inner.follow !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['together', i], message: 'steps of a "together" group are plain requests (no wait, follow or nested group)' });
        }
      });
      return;
    }
    if (step.startAfterMs !== undefined) {
      // Checked by the group: only its steps may start late.
    }
    if (step.wait !== undefined) {
      for (const key of ['method', 'path', 'follow', 'expect', 'json', 'body', 'startAfterMs'] as const) {
        if (step[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'a wait step takes only "wait" (and "name")' });
      }
      return;
    }
    if (step.body !== undefined && step.json !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['body'], message: 'expected one of "body" (raw text) or "json", not both' });
    }
    const templated: [string, string | undefined][] = [
      ['path', step.path],
      ['body', step.body],
      ['json', step.json === undefined ? undefined : JSON.stringify(step.json)],
    ];
    for (const [key, text] of templated) {
      for (const [, name] of text?.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g) ?? []) {
        if (!(TEMPLATE_NAMES as readonly string[]).includes(name)) {
          ctx.addIssue({ code: 'custom', path: [key], message: `unknown template {{${name.slice(0, 40)}}}; expected ${TEMPLATE_NAMES.map((t) => `{{${t}}}`).join(', ')}` });
        }
      }
    }
    for (const [name, value] of Object.entries(step.headers ?? {})) {
      if (!isHeaderName(name)) {
        ctx.addIssue({ code: 'custom', path: ['headers', name], message: "expected a header name (letters, digits and !#$%&'*+-.^_`|~, no spaces or control characters)" });
      } else if (HEADERS_SET_BY_THE_CLIENT.includes(name.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: ['headers', name], message: `expected a header the client does not set itself (not ${HEADERS_SET_BY_THE_CLIENT.join(', ')})` });
      }
      if (/\{\{.*\}\}/.test(value)) ctx.addIssue({ code: 'custom', path: ['headers', name], message: 'templates are filled in "path", "body" and "json" only, not in headers' });
    }
    if (step.method === undefined) ctx.addIssue({ code: 'custom', path: ['method'], message: `expected one of ${HTTP_METHODS.join(', ')} (or a "wait" step)` });
    if ((step.path === undefined) === (step.follow === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'expected exactly one of "path" or "follow"' });
    }
  });

export const MisconfigurationSchema = z.strictObject({
  /** What is wrong, in one line. */
  note: z.string().min(1),
  cluster: ClusterSchema.optional(),
  client: ClientSchema.optional(),
});

export const ScenarioSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { message: 'expected a lower-case name like "login-browse"' }),
    description: z.string().min(1),
    /** The reset cause this scenario demonstrates, or a consistency anomaly, or none. */
    demonstrates: z.enum(['none', ...CAUSES, 'lost-update']).optional(),
    /** The public bug report it reproduces, if any. */
    reproduces: z.string().optional(),
    /** Request and response body fields whose values the history file redacts, besides password, token and the like. */
    secretFields: z.array(z.string().min(1).max(100)).max(100).optional(),
    /** How to run it clean, for scenarios whose fix is not --fixed (e.g. "--store redis"). */
    fix: z.string().optional(),
    cluster: ClusterSchema.optional(),
    client: ClientSchema.optional(),
    /** How a black-box app says "log in first", and its login and logout paths. */
    blackBox: BlackBoxSchema.optional(),
    misconfiguration: MisconfigurationSchema.optional(),
    steps: z
      .array(StepSchema)
      .min(1, { message: 'expected at least one step' })
      .superRefine((steps, ctx) => {
        steps.forEach((step, i) => {
          if (step.startAfterMs !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'startAfterMs'], message: '"startAfterMs" belongs to steps inside a "together" group' });
        });
        // `follow` takes its URL from the previous response: the first request has none.
        const first = steps.findIndex((step) => step.wait === undefined);
        if (first >= 0 && steps[first].follow !== undefined) {
          ctx.addIssue({ code: 'custom', path: [first, 'follow'], message: '"follow" needs a previous response to follow a link from; this is the first request' });
        }
      }),
  })
  .superRefine((scenario, ctx) => {
    // The app: a command or `server: express`, not both; a misconfiguration's may change only env, ready… of the scenario's.
    const base = scenario.cluster?.app;
    for (const [where, app] of [
      [['cluster', 'app'], base],
      [['misconfiguration', 'cluster', 'app'], scenario.misconfiguration?.cluster?.app],
    ] as const) {
      if (!app) continue;
      if (app.command !== undefined && app.server !== undefined) ctx.addIssue({ code: 'custom', path: [...where, 'server'], message: 'expected either "command" or "server", got both' });
      if (app.command === undefined && app.server === undefined && !(where.length === 3 && base !== undefined)) {
        ctx.addIssue({ code: 'custom', path: [...where, 'command'], message: 'expected a shell command (e.g. "node app.js") or server: express' });
      }
    }
  });

export type Scenario = z.infer<typeof ScenarioSchema>;

export interface ScenarioStep {
  name?: string;
  wait?: number;
  method?: (typeof HTTP_METHODS)[number];
  path?: string;
  follow?: string;
  scheme?: 'http' | 'https';
  browser?: number;
  from?: string;
  startAfterMs?: number;
  headers?: Record<string, string>;
  json?: unknown;
  body?: string;
  repeat?: number;
  expect?: z.infer<typeof ExpectSchema>;
  together?: ScenarioStep[];
}
export type StepExpectations = z.infer<typeof ExpectSchema>;
export type ScenarioClient = z.infer<typeof ClientSchema>;
export type ScenarioCluster = z.infer<typeof ClusterSchema>;
