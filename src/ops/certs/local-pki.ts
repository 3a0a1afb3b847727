/**
 * A small local PKI in one directory: a CA kept across runs, a server certificate, and client certificates.
 *
 *   ca.crt, ca.key            the CA; created once, reused on later runs (replaced only when asked: every client
 *                             that trusts the old one would have to be given the new one)
 *   server.crt, server.key    reissued on every run, so a new address or name is one command away
 *   clients/NAME.crt, .key    CN=NAME, for use_identity_as_username
 *
 * Keys are ECDSA P-256 by default: mosquitto and its clients (OpenSSL), MQTT.js (Node), ESP32 (mbedTLS) and ESP8266
 * (BearSSL) all take it, and its handshakes cost a Pi and a microcontroller far less than RSA's. `rsa` (2048 bits) is
 * there for the odd device whose TLS stack has no ECDSA.
 */
import { randomBytes, X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { CERT_PLACEMENT, keyPlacement, placeFile } from './file-placement.js';
import type { OpenSsl } from './openssl.js';
import { formatSubjectAltNames, type SubjectAltName } from './subject-alt-names.js';

export type KeyType = 'ec' | 'rsa';

export class PkiError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PkiError';
  }
}

export interface LocalPkiOptions {
  dir: string;
  openssl: OpenSsl;
  keyType: KeyType;
  /** Group that may read the server and client keys (0640); undefined: owner only (0600). Never the CA key. */
  keyGroup?: number;
}

export interface IssuedCertificate {
  cert: string;
  key: string;
  subject: string;
  serial: string;
  validTo: Date;
  fingerprint256: string;
}

export interface CaResult extends IssuedCertificate {
  created: boolean;
}

/** A client name is its certificate's CN, the MQTT username with use_identity_as_username, and a file name. */
const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function clientNameProblem(name: string): string | undefined {
  if (CLIENT_NAME.test(name) && !name.includes('..')) return undefined;
  return `--client ${JSON.stringify(name)}: expected 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit`;
}

export class LocalPki {
  readonly dir: string;
  readonly #openssl: OpenSsl;
  readonly #keyType: KeyType;
  readonly #keyGroup: number | undefined;

  constructor(options: LocalPkiOptions) {
    this.dir = path.resolve(options.dir);
    this.#openssl = options.openssl;
    this.#keyType = options.keyType;
    this.#keyGroup = options.keyGroup;
  }

  get caCert(): string {
    return path.join(this.dir, 'ca.crt');
  }
  get caKey(): string {
    return path.join(this.dir, 'ca.key');
  }
  get serverCert(): string {
    return path.join(this.dir, 'server.crt');
  }
  get serverKey(): string {
    return path.join(this.dir, 'server.key');
  }
  clientCert(name: string): string {
    return path.join(this.dir, 'clients', `${name}.crt`);
  }
  clientKey(name: string): string {
    return path.join(this.dir, 'clients', `${name}.key`);
  }

  /** The CA of an earlier run when there is one (checked: the pair matches), else a new one. `force` replaces it. */
  async ensureCa(options: { commonName: string; days: number; force: boolean }): Promise<CaResult> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    const [certExists, keyExists] = await Promise.all([exists(this.caCert), exists(this.caKey)]);
    if (!options.force && (certExists || keyExists)) {
      if (!certExists || !keyExists) {
        const missing = certExists ? this.caKey : this.caCert;
        throw new PkiError(`${missing} is missing but its pair is there: restore it, or pass --force to make a new CA (every client must then be given the new ca.crt)`);
      }
      return { ...(await this.#describe(this.caCert, this.caKey, true)), created: false };
    }
    await this.#staged(async (stage) => {
      const key = await this.#newKey(stage, 'ca.key');
      const config = await writeConfig(stage, 'ca.cnf', options.commonName, [
        'basicConstraints = critical,CA:TRUE,pathlen:0',
        'keyUsage = critical,keyCertSign,cRLSign',
        'subjectKeyIdentifier = hash',
      ]);
      const cert = path.join(stage, 'ca.crt');
      await this.#openssl.run(['req', '-x509', '-new', '-key', key, '-sha256', '-days', String(options.days), '-set_serial', serial(), '-config', config, '-extensions', 'ext', '-out', cert]);
      // The key last: a run that fails in between leaves the old pair, or none, never a mismatched one.
      await placeFile(cert, this.caCert, CERT_PLACEMENT);
      await placeFile(key, this.caKey, keyPlacement(undefined));
    });
    return { ...(await this.#describe(this.caCert, this.caKey, false)), created: true };
  }

  async issueServer(options: { commonName: string; names: readonly SubjectAltName[]; days: number }): Promise<IssuedCertificate> {
    const keyUsage = this.#keyType === 'rsa' ? 'critical,digitalSignature,keyEncipherment' : 'critical,digitalSignature';
    return this.#issue(this.serverCert, this.serverKey, options.commonName, options.days, [
      'basicConstraints = critical,CA:FALSE',
      `keyUsage = ${keyUsage}`,
      'extendedKeyUsage = serverAuth',
      `subjectAltName = ${formatSubjectAltNames(options.names)}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
    ]);
  }

  async issueClient(options: { name: string; days: number }): Promise<IssuedCertificate> {
    const problem = clientNameProblem(options.name);
    if (problem) throw new PkiError(problem);
    await mkdir(path.join(this.dir, 'clients'), { recursive: true, mode: 0o755 });
    const keyUsage = this.#keyType === 'rsa' ? 'critical,digitalSignature,keyEncipherment' : 'critical,digitalSignature';
    return this.#issue(this.clientCert(options.name), this.clientKey(options.name), options.name, options.days, [
      'basicConstraints = critical,CA:FALSE',
      `keyUsage = ${keyUsage}`,
      'extendedKeyUsage = clientAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
    ]);
  }

  async #issue(certPath: string, keyPath: string, commonName: string, days: number, extensions: string[]): Promise<IssuedCertificate> {
    await this.#staged(async (stage) => {
      const key = await this.#newKey(stage, 'leaf.key');
      const config = await writeConfig(stage, 'leaf.cnf', commonName, extensions);
      const csr = path.join(stage, 'leaf.csr');
      const cert = path.join(stage, 'leaf.crt');
      await this.#openssl.run(['req', '-new', '-key', key, '-config', config, '-out', csr]);
      await this.#openssl.run([
        'x509', '-req', '-in', csr, '-CA', this.caCert, '-CAkey', this.caKey, '-set_serial', serial(), '-days', String(days), '-sha256',
        '-extfile', config, '-extensions', 'ext', '-out', cert,
      ]);
      // Key first, then the certificate: a reader between the two renames sees a new key with the old certificate
      // only if it reads in the other order; the broker loads both at start.
      await placeFile(key, keyPath, keyPlacement(this.#keyGroup));
      await placeFile(cert, certPath, CERT_PLACEMENT);
    });
    return this.#describe(certPath, keyPath, false);
  }

  async #newKey(stage: string, name: string): Promise<string> {
    const key = path.join(stage, name);
    const algorithm = this.#keyType === 'rsa' ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'] : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    await this.#openssl.run(['genpkey', ...algorithm, '-out', key]);
    return key;
  }

  /** Runs `work` in a private (0700) directory inside the PKI directory, so renames out of it are atomic. */
  async #staged(work: (stage: string) => Promise<void>): Promise<void> {
    const stage = await mkdtemp(path.join(this.dir, '.staging-'));
    try {
      await work(stage);
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }

  async #describe(certPath: string, keyPath: string, checkPair: boolean): Promise<IssuedCertificate> {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(await readFile(certPath));
    } catch (error) {
      throw new PkiError(`${certPath}: not a PEM certificate (${(error as Error).message})`, { cause: error });
    }
    if (checkPair) {
      let matches = false;
      try {
        matches = cert.checkPrivateKey(createPrivateKey(await readFile(keyPath)));
      } catch (error) {
        throw new PkiError(`${keyPath}: not a readable PEM private key (${(error as Error).message})`, { cause: error });
      }
      if (!matches) throw new PkiError(`${keyPath} is not the key of ${certPath}: restore the pair, or pass --force to make a new CA`);
      if (new Date(cert.validTo) < new Date()) throw new PkiError(`${certPath} expired on ${cert.validTo}: pass --force to make a new CA`);
    }
    return { cert: certPath, key: keyPath, subject: cert.subject, serial: cert.serialNumber, validTo: new Date(cert.validTo), fingerprint256: cert.fingerprint256 };
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** A random positive 127-bit serial: unique without a serial file, as RFC 5280 asks. */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

/**
 * An openssl config of our own, so the system's openssl.cnf (which differs between Debian releases and adds
 * extensions of its own to `req -x509`) cannot change what is issued. Subject values are checked by the callers
 * (a hostname, a client name): no `$`, `#` or newline reaches the file.
 */
async function writeConfig(stage: string, name: string, commonName: string, extensions: string[]): Promise<string> {
  if (/[$#\n\r\\]/.test(commonName)) throw new PkiError(`certificate name ${JSON.stringify(commonName)} has characters openssl cannot take`);
  const file = path.join(stage, name);
  const text = ['[req]', 'distinguished_name = dn', 'prompt = no', 'utf8 = yes', '[dn]', 'O = pi-edge-gateway', `CN = ${commonName}`, '[ext]', ...extensions, ''].join('\n');
  await writeFile(file, text, { mode: 0o600 });
  return file;
}
