import { readFile } from 'node:fs/promises';
import type { TLSSocket, TlsOptions as NodeTlsOptions } from 'node:tls';
import type { TlsOptions } from '../options.js';

export async function loadTlsServerOptions(tls: TlsOptions): Promise<NodeTlsOptions> {
  const [cert, key, ca] = await Promise.all([
    readFile(tls.certFile),
    readFile(tls.keyFile),
    tls.caFile ? readFile(tls.caFile) : Promise.resolve(undefined),
  ]);
  return {
    cert,
    key,
    ...(ca ? { ca } : {}),
    requestCert: tls.requireCertificate,
    rejectUnauthorized: tls.requireCertificate,
    minVersion: 'TLSv1.2',
  };
}

/** The CN of a client certificate the TLS layer verified, if any. */
export function verifiedCommonName(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn || undefined;
}
