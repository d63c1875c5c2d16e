import { createHash, randomBytes } from 'node:crypto';

/** 128 bits from the CSPRNG, as OWASP asks; base64url has no cookie-unsafe characters. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** What logs and reports show instead of an id: 8 hex digits of its SHA-256. */
export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 8);
}
