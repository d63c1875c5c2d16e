/**
 * The one duration syntax of session-lab, for flags (`--duration 2m`,
 * `--budget 90s`) and fault options (`for=2m`, `at=1.5s`) alike:
 * a number and an optional unit, `ms`, `s` (the default), `m` or `h`.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `1.5m`, `500ms`, `90` (seconds) → ms; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']);
}

export const DURATION_EXAMPLES = 'a duration like 500ms, 30s or 2m';
