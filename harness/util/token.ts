/**
 * The one rule for cookie names and header names: an RFC 9110 token (RFC
 * 6265 takes its cookie-name from the same grammar; undici checks header
 * names against it).
 */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function isCookieName(name: string): boolean {
  return TOKEN.test(name);
}

export function isHeaderName(name: string): boolean {
  return TOKEN.test(name);
}
