import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { AclEvaluator } from './auth/acl.js';
import { AclFile } from './auth/acl-file.js';
import { PasswordFile } from './auth/password-file.js';
import { loadTlsServerOptions } from './listeners/tls-context.js';
import type { BrokerOptions, TlsOptions } from './options.js';

/** A file the broker's options name that the broker would refuse at start. */
export interface FileProblem {
  /** Key path inside the `broker:` section, e.g. `['listeners', 0, 'tls', 'key_file']`. */
  key: (string | number)[];
  /** Starts with the file, and its line when one is at fault: `/etc/x/passwd:3: …`. */
  message: string;
}

/**
 * Loads every file the broker would load at start, with the broker's own loaders (PasswordFile, AclFile and
 * AclEvaluator as createBroker builds them, loadTlsServerOptions and a TLS context as the listeners do), and says what
 * is wrong with each: for `check`, before anything starts.
 */
export async function checkBrokerFiles(options: BrokerOptions): Promise<FileProblem[]> {
  const problems: FileProblem[] = [];
  if (options.passwordFile) {
    await PasswordFile.load(options.passwordFile).catch((error: unknown) => problems.push({ key: ['password_file'], message: (error as Error).message }));
  }
  if (options.aclFile) {
    await AclFile.load(options.aclFile)
      .then((file) => new AclEvaluator(file))
      .catch((error: unknown) => problems.push({ key: ['acl_file'], message: (error as Error).message }));
  }
  for (const [index, listener] of options.listeners.entries()) {
    if (listener.tls) problems.push(...(await checkTlsFiles(listener.tls, ['listeners', index, 'tls'])));
  }
  return problems;
}

/** The certificate, key and CA bundle of a TLS listener: each parses, the key matches the certificate. */
async function checkTlsFiles(tls: TlsOptions, at: (string | number)[]): Promise<FileProblem[]> {
  let loaded;
  try {
    loaded = await loadTlsServerOptions(tls);
  } catch (error) {
    const file = (error as NodeJS.ErrnoException).path;
    const key = file === tls.keyFile ? 'key_file' : file === tls.caFile ? 'ca_file' : 'cert_file';
    return [{ key: [...at, key], message: `${file ?? tls.certFile}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` }];
  }
  const problems: FileProblem[] = [];
  const certificates = pemCertificates(tls.certFile, loaded.cert as Buffer, [...at, 'cert_file'], problems);
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey(loaded.key as Buffer);
  } catch (error) {
    problems.push({ key: [...at, 'key_file'], message: `${tls.keyFile}:${firstLineOf(loaded.key as Buffer, 'PRIVATE KEY')}: not a usable PEM private key (${(error as Error).message})` });
  }
  const leaf = certificates[0];
  if (leaf && key && !leaf.checkPrivateKey(key)) {
    problems.push({ key: [...at, 'key_file'], message: `${tls.keyFile}: the private key does not match the certificate in ${tls.certFile}` });
  }
  if (tls.caFile && loaded.ca) pemCertificates(tls.caFile, loaded.ca as Buffer, [...at, 'ca_file'], problems);
  if (problems.length === 0) {
    // What the listener itself does with them: anything OpenSSL still refuses.
    try {
      createSecureContext(loaded);
    } catch (error) {
      problems.push({ key: [...at, 'cert_file'], message: `${tls.certFile}: refused by OpenSSL (${(error as Error).message})` });
    }
  }
  return problems;
}

const BEGIN_CERTIFICATE = '-----BEGIN CERTIFICATE-----';
const END_CERTIFICATE = '-----END CERTIFICATE-----';

/** Every certificate of a PEM file, each block parsed on its own so a bad one is named by its line. */
function pemCertificates(file: string, pem: Buffer, key: (string | number)[], problems: FileProblem[]): X509Certificate[] {
  const text = pem.toString('utf8');
  const found: X509Certificate[] = [];
  let from = 0;
  for (;;) {
    const begin = text.indexOf(BEGIN_CERTIFICATE, from);
    if (begin < 0) break;
    const end = text.indexOf(END_CERTIFICATE, begin);
    const line = lineAt(text, begin);
    if (end < 0) {
      problems.push({ key, message: `${file}:${line}: certificate without "${END_CERTIFICATE}"` });
      return found;
    }
    try {
      found.push(new X509Certificate(text.slice(begin, end + END_CERTIFICATE.length)));
    } catch (error) {
      problems.push({ key, message: `${file}:${line}: not a valid certificate (${(error as Error).message})` });
    }
    from = end + END_CERTIFICATE.length;
  }
  if (found.length === 0 && !problems.some((p) => p.key === key)) {
    problems.push({ key, message: `${file}:1: no PEM certificate ("${BEGIN_CERTIFICATE}") in the file` });
  }
  return found;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function firstLineOf(pem: Buffer, label: string): number {
  const text = pem.toString('utf8');
  const at = text.indexOf(label);
  return at < 0 ? 1 : lineAt(text, at);
}
