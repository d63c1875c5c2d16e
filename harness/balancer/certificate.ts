import type { TlsMaterial } from './proxy.js';

/**
 * A throw-away certificate for the https front, made at start and never
 * written to disk: valid for a day, for 127.0.0.1, localhost and the site's
 * hostnames. Virtual users trust exactly this certificate (as their CA),
 * so TLS is verified as a browser would, with no private key committed.
 */
export async function makeCertificate(hostnames: readonly string[]): Promise<TlsMaterial> {
  const names = [...new Set(['localhost', ...hostnames])];
  // Loaded on first use: selfsigned brings a dozen ASN.1 packages that only an https front needs.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'session-lab balancer' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: new Date(Date.now() + 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'subjectAltName', altNames: [...names.map((value) => ({ type: 2 as const, value })), { type: 7 as const, ip: '127.0.0.1' }] },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
