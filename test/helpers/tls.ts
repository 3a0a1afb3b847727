import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { hasBinary } from './mosquitto.js';

const run = promisify(execFile);

export const hasOpenssl = hasBinary('openssl');

/** PEM files of a small test PKI, all in one directory. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** CN=sensor-01, signed by caCert. */
  clientCert: string;
  clientKey: string;
  /** CN=sensor-01, signed by another CA the broker does not trust. */
  rogueClientCert: string;
  rogueClientKey: string;
  /** File contents, for MQTT.js options. */
  read(file: string): Buffer;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir, timeout: 15_000 });
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    'req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

async function makeLeaf(dir: string, name: string, cn: string, ca: string, extensions: string): Promise<void> {
  await writeFile(path.join(dir, `${name}.ext`), extensions);
  await openssl(dir, [
    'req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`,
  ]);
  await openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial', String(randomInt(1, 2 ** 47)),
    '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`,
  ]);
}

/** Generates a CA, a server certificate for 127.0.0.1/localhost and client certificates with `openssl`. */
export async function createTestPki(dir: string): Promise<TestPki> {
  await Promise.all([makeCa(dir, 'ca'), makeCa(dir, 'rogue-ca')]);
  await Promise.all([
    makeLeaf(dir, 'server', 'localhost', 'ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n'),
    makeLeaf(dir, 'client', 'sensor-01', 'ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n'),
    makeLeaf(dir, 'rogue-client', 'sensor-01', 'rogue-ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n'),
  ]);
  const p = (file: string) => path.join(dir, file);
  return {
    dir,
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    rogueClientCert: p('rogue-client.crt'),
    rogueClientKey: p('rogue-client.key'),
    read: (file) => readFileSync(file),
  };
}
