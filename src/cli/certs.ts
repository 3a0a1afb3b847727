/**
 * `pi-edge-gateway certs`: a local CA, a server certificate for this machine, client certificates on request, and
 * the config lines that use them. The files go to /etc/pi-edge-gateway/certs unless --dir says otherwise: beside the
 * config, which the service may read but not write (ProtectSystem=strict), and not in the state directory, which the
 * service can write: a compromised service must not be able to swap its own certificates or reach the CA key.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';

import { bridgeYaml, brokerListenerYaml, mosquittoSubLines } from '../ops/certs/config-lines.js';
import { clientNameProblem, LocalPki, type IssuedCertificate, type KeyType } from '../ops/certs/local-pki.js';
import { OpenSsl } from '../ops/certs/openssl.js';
import { primaryGroupOf } from '../ops/certs/service-user.js';
import { parseSubjectAltName, serverSubjectAltNames, type MachineIdentity } from '../ops/certs/subject-alt-names.js';
import { UsageError } from './args.js';

export const DEFAULT_CERTS_DIR = '/etc/pi-edge-gateway/certs';
/** Ten years: replacing a CA means giving every client the new one. */
const CA_DAYS = 3650;
/** 825 days, the longest browsers ever accepted for a server certificate; rerunning `certs` renews it. */
const LEAF_DAYS = 825;

export const CERTS_USAGE = `Usage: pi-edge-gateway certs [options]

Creates a local CA (kept and reused on later runs), a server certificate for this machine (its hostname,
<hostname>.local, localhost and every address it has), and client certificates, then prints the config that uses
them. Needs the openssl command.

Options:
  --dir DIR          where the files go (default ${DEFAULT_CERTS_DIR})
  --san NAME|IP      another name or address for the server certificate (repeatable)
  --client NAME      also issue a client certificate with CN=NAME (repeatable)
  --owner USER       let USER's group read the server and client keys (0640; run as root)
  --key-type ec|rsa  ECDSA P-256 (default) or RSA 2048 for devices without ECDSA
  --days N           validity of the server and client certificates (default ${LEAF_DAYS})
  --hostname NAME    the machine's name, if not os.hostname()
  --port N           the TLS port in the printed lines (default 8883)
  --force            replace the CA too (every client must then be given the new ca.crt)

Examples:
  sudo pi-edge-gateway certs --owner pi-edge-gateway
  sudo pi-edge-gateway certs --client sensor-01 --san mqtt.example.lan --owner pi-edge-gateway
  pi-edge-gateway certs --dir ./certs
`;

export interface CertsEnvironment {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Default: os.hostname() and os.networkInterfaces(). */
  machine?: () => MachineIdentity;
  /** Default: `openssl` on PATH. */
  openssl?: string;
  /** Default: whether the process runs as root. */
  isRoot?: boolean;
}

interface CertsCommand {
  dir: string;
  sans: string[];
  clients: string[];
  owner: string | undefined;
  keyType: KeyType;
  days: number;
  hostname: string | undefined;
  port: number;
  force: boolean;
}

function parseCommand(argv: string[]): CertsCommand | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        dir: { type: 'string' },
        san: { type: 'string', multiple: true },
        client: { type: 'string', multiple: true },
        owner: { type: 'string' },
        'key-type': { type: 'string' },
        days: { type: 'string' },
        hostname: { type: 'string' },
        port: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(`certs: ${(error as Error).message}`);
  }
  if (values.help) return 'help';
  const keyType = values['key-type'] ?? 'ec';
  if (keyType !== 'ec' && keyType !== 'rsa') throw new UsageError(`certs: --key-type ${keyType}: expected ec or rsa`);
  const days = Number(values.days ?? LEAF_DAYS);
  if (!Number.isInteger(days) || days < 1 || days > CA_DAYS) throw new UsageError(`certs: --days ${values.days}: expected a whole number of days from 1 to ${CA_DAYS}`);
  const port = Number(values.port ?? 8883);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`certs: --port ${values.port}: expected 1 to 65535`);
  const clients = values.client ?? [];
  for (const name of clients) {
    const problem = clientNameProblem(name);
    if (problem) throw new UsageError(`certs: ${problem}`);
  }
  return {
    dir: values.dir ?? DEFAULT_CERTS_DIR,
    sans: values.san ?? [],
    clients,
    owner: values.owner,
    keyType,
    days,
    hostname: values.hostname,
    port,
    force: values.force ?? false,
  };
}

function parseSubjectAltNameOrUndefined(text: string) {
  try {
    return parseSubjectAltName(text);
  } catch {
    return undefined;
  }
}

export async function runCerts(argv: string[], env: CertsEnvironment): Promise<number> {
  const command = parseCommand(argv);
  if (command === 'help') {
    env.stdout.write(CERTS_USAGE);
    return 0;
  }
  const out = (line = '') => env.stdout.write(`${line}\n`);
  const warn = (line: string) => env.stderr.write(`${line}\n`);

  let extra;
  try {
    extra = command.sans.map(parseSubjectAltName);
  } catch (error) {
    throw new UsageError(`certs: ${(error as Error).message}`);
  }
  const isRoot = env.isRoot ?? process.getuid?.() === 0;
  if (command.owner !== undefined && !isRoot) throw new UsageError(`certs: --owner ${command.owner} needs root, to give the keys to that user's group (run it with sudo)`);
  const keyGroup = command.owner === undefined ? undefined : await primaryGroupOf(command.owner);

  const machine = (env.machine ?? (() => ({ hostname: os.hostname(), interfaces: os.networkInterfaces() })))();
  if (command.hostname !== undefined) {
    if (parseSubjectAltNameOrUndefined(command.hostname)?.type !== 'DNS') throw new UsageError(`certs: --hostname ${command.hostname}: expected a DNS name`);
    machine.hostname = command.hostname;
  }
  const names = serverSubjectAltNames(machine, extra);
  const hostname = (names.find((n) => n.type === 'DNS') ?? { value: 'localhost' }).value;
  const short = hostname.split('.')[0] ?? hostname;

  const openssl = new OpenSsl(env.openssl);
  await openssl.version(); // a missing openssl is said before anything is written

  const pki = new LocalPki({ dir: command.dir, openssl, keyType: command.keyType, keyGroup });
  // Unique per CA, so clients that trust the CAs of several gateways tell them apart; CN is at most 64 characters.
  const caName = `pi-edge-gateway CA ${short.slice(0, 32)} ${Date.now().toString(36)}`;
  const ca = await pki.ensureCa({ commonName: caName, days: CA_DAYS, force: command.force });
  const server = await pki.issueServer({ commonName: hostname, names, days: command.days });
  const clients = [];
  for (const name of command.clients) clients.push({ name, ...(await pki.issueClient({ name, days: command.days })) });

  const describe = (what: string, c: IssuedCertificate) => `  ${what.padEnd(8)} ${c.cert}  (until ${c.validTo.toISOString().slice(0, 10)})`;
  out(`${ca.created ? 'Created a new CA' : 'Kept the CA'} in ${pki.dir}, SHA-256 fingerprint ${ca.fingerprint256}`);
  out(describe('CA', ca));
  out(describe('server', server));
  for (const c of clients) out(describe(`client`, c));
  out(`  server names: ${names.map((n) => n.value).join(', ')}`);
  out();
  if (isRoot && keyGroup === undefined) warn('Note: the keys are readable by root only; pass --owner USER so the service user can read them.');
  if (command.force && !ca.created) warn('Note: --force found no CA to replace.');
  if (ca.validTo < server.validTo) warn(`Note: the CA expires on ${ca.validTo.toISOString().slice(0, 10)}, before the certificates it signed: make a new one with --force before then.`);
  if (ca.created && command.force) warn('Note: a new CA: give every client the new ca.crt, and reissue their client certificates.');

  const lines = { caCert: ca.cert, serverCert: server.cert, serverKey: server.key, host: `${short}.local`, port: command.port, clients };
  out('The broker serves them with this listener (config file, broker: section):');
  out();
  out(brokerListenerYaml(lines));
  out();
  out('Another gateway reaches this one over TLS with this bridge:');
  out();
  out(bridgeYaml(lines, short));
  out();
  out('Check it from any machine that has ca.crt (as a user of the password file: add -u USER -P PASSWORD):');
  out();
  for (const line of mosquittoSubLines(lines)) out(`  ${line}`);
  return 0;
}
