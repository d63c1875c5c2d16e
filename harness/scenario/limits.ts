/**
 * What a scenario file may be, checked before it is parsed: a regular file
 * (not a FIFO, device or directory, which would hang or stream forever), of
 * bounded size and nesting depth, so that a hostile or broken file is refused
 * in one line instead of exhausting the parser's stack or memory.
 */
export const MAX_SCENARIO_BYTES = 1024 * 1024;
export const MAX_NESTING = 64;
/** YAML aliases a file may expand (yaml's own guard against alias bombs). */
export const MAX_ALIAS_COUNT = 100;
/** Problems listed in one error; the rest are counted. */
export const MAX_PROBLEMS_SHOWN = 3;
/** A value quoted in an error is cut to this many characters. */
export const MAX_QUOTED = 60;

/** `value` as JSON, cut to a readable length. */
export function quote(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}… (${text.length} chars)` : text;
}

/**
 * The deepest nesting in a YAML or JSON text, without parsing it: flow
 * brackets outside quoted strings, plus block indentation levels and the
 * `- ` of compact nested sequences. An over-estimate is fine (it only has
 * to stay under the limit for real scenarios, which nest a few levels).
 */
export function nestingDepth(text: string): number {
  let deepest = 0;
  let flow = 0;
  const indents: number[] = [];
  for (const line of text.split('\n')) {
    const content = line.trimStart();
    if (content === '' || content.startsWith('#')) continue;
    const indent = line.length - content.length;
    while (indents.length && indents[indents.length - 1] >= indent) indents.pop();
    indents.push(indent);
    let dashes = 0;
    while (/^- /.test(content.slice(dashes * 2))) dashes++;
    let quoteChar: string | undefined;
    for (let i = 0; i < content.length; i++) {
      const c = content[i];
      if (quoteChar) {
        if (c === '\\' && quoteChar === '"') i++;
        else if (c === quoteChar) quoteChar = undefined;
      } else if (c === '"' || c === "'") quoteChar = c;
      else if (c === '#' && (i === 0 || content[i - 1] === ' ')) break;
      else if (c === '[' || c === '{') deepest = Math.max(deepest, indents.length + dashes + ++flow);
      else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
    }
    deepest = Math.max(deepest, indents.length + dashes + flow);
  }
  return deepest;
}

/** The depth of parsed data, iteratively (a recursive walk is what overflows). */
export function dataDepth(data: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[data, 1]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_NESTING) return deepest;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return deepest;
}
