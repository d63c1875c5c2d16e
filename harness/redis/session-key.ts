/**
 * Does the run's Redis hold a session? Asked for a black-box app, whose key
 * layout session-lab does not know (connect-redis writes `sess:ID`, or the
 * app's own prefix): a key that contains the session id, found by SCAN.
 *
 * The id inside a cookie value: express-session (and cookie-parser) sign it
 * as `s:ID.SIGNATURE`; an unsigned cookie is the id itself.
 */

/** The id a session cookie's (percent-decoded) value carries. */
export function storeIdOf(cookieValue: string): string {
  const dot = cookieValue.lastIndexOf('.');
  return cookieValue.startsWith('s:') && dot > 2 ? cookieValue.slice(2, dot) : cookieValue;
}

/** A SCAN MATCH pattern for keys that contain `text` literally. */
export function containsPattern(text: string): string {
  return `*${text.replace(/[*?[\]\\^]/g, (c) => `\\${c}`)}*`;
}

/** Whether some key of the Redis at `url` contains the id `cookieValue` carries. */
export async function redisHoldsSession(url: string, cookieValue: string, timeoutMs: number): Promise<boolean> {
  const id = storeIdOf(cookieValue);
  // Too short to be an id: any key might contain it.
  if (id.length < 8) return false;
  // Loaded here, not with this module: the reports use storeIdOf in every run, Redis only a run that has one.
  const { withClient } = await import('./provision.js');
  return withClient(
    url,
    async (client) => {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', containsPattern(id), 'COUNT', 1000);
        if (keys.length) return true;
        cursor = next;
      } while (cursor !== '0');
      return false;
    },
    { connectTimeout: timeoutMs, commandTimeout: timeoutMs },
  );
}
