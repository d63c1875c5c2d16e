import { z } from 'zod';

/**
 * A scenario is data: an ordered list of steps that share one virtual
 * user's context (cookie jar, last session id, logged-in user). Files live
 * in scenarios/ as YAML or JSON and are validated here, every error with
 * its path inside the file.
 */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

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
  /** A session reset is expected at this step (scenarios that demonstrate one). */
  reset: z.boolean().optional(),
});

export const StepSchema = z.strictObject({
  name: z.string().min(1).optional(),
  method: z.enum(HTTP_METHODS),
  path: z.string().startsWith('/', { message: 'expected a path starting with "/"' }),
  headers: z.record(z.string(), z.string()).optional(),
  /** A JSON request body; sets content-type: application/json. */
  json: z.unknown().optional(),
  /** A raw request body. */
  body: z.string().optional(),
  /** Run this step this many times in a row (each is its own numbered step). */
  repeat: z.number().int().min(1).max(10_000).optional(),
  expect: ExpectSchema.optional(),
});

export const ScenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { message: 'expected a lower-case name like "login-browse"' }),
  description: z.string().min(1),
  /** The reset cause this scenario demonstrates, if it demonstrates one. */
  demonstrates: z.enum(['none', 'replication', 'transmission', 'code', 'expiry']).optional(),
  /** The public bug report it reproduces, if any. */
  reproduces: z.string().optional(),
  steps: z.array(StepSchema).min(1, { message: 'expected at least one step' }),
});

export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioStep = z.infer<typeof StepSchema>;
export type StepExpectations = z.infer<typeof ExpectSchema>;
