/**
 * Per-replica values in an app's environment: `{BACKEND_ID}` in an
 * `--app-env` / `app.env` value becomes the replica's name (app-1, app-2…)
 * and `{REPLICA}` its number (1, 2…), so a run can give each replica its own
 * value — e.g. `SESSION_SECRET=secret-{BACKEND_ID}`, the per-process signing
 * secret that makes every other replica reject a cookie (hyperdx PR #3129).
 * Any other `{UPPER_CASE}` word is refused as a misspelt placeholder.
 */
export const REPLICA_PLACEHOLDERS = ['BACKEND_ID', 'REPLICA'] as const;

const PLACEHOLDER = /\{([A-Z][A-Z0-9_]*)\}/g;

/** The first placeholder in `value` that is not one of REPLICA_PLACEHOLDERS, if any. */
export function unknownPlaceholder(value: string): string | undefined {
  for (const [token, name] of value.matchAll(PLACEHOLDER)) {
    if (!(REPLICA_PLACEHOLDERS as readonly string[]).includes(name)) return token;
  }
  return undefined;
}

/** `env` for replica `name` (app-N): the placeholders filled in. */
export function replicaEnv(env: Record<string, string> | undefined, name: string): Record<string, string> {
  const values: Record<string, string> = { BACKEND_ID: name, REPLICA: name.replace(/^\D*/, '') };
  return Object.fromEntries(Object.entries(env ?? {}).map(([key, value]) => [key, value.replace(PLACEHOLDER, (token, word: string) => values[word] ?? token)]));
}
