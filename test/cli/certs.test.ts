import { execFile, spawn } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type IClientOptions } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startApplication, type Application } from '../../src/app/application.js';
import { parseConfig } from '../../src/app/config/load.js';
import { UsageError } from '../../src/cli/args.js';
import { runCerts } from '../../src/cli/certs.js';
import { OpenSslMissingError } from '../../src/ops/certs/openssl.js';
import { silentLogger } from '../../src/util/logger.js';
import { collect, connectClient, loopbackListener, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { MOSQUITTO, startMosquitto } from '../helpers/mosquitto-broker.js';
import { hasBinary, runProgram } from '../helpers/mosquitto.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { capturedIo } from '../helpers/captured-io.js';

const run = promisify(execFile);
const hasOpenssl = hasBinary('openssl');
const hasMosquittoSub = hasBinary('mosquitto_sub');
const isRoot = process.getuid?.() === 0;
const repoRoot = path.resolve(import.meta.dirname, '../..');

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `certs ...args` in this process; resolves with what it printed. */
async function certs(args: string[], env: { openssl?: string; isRoot?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = capturedIo();
  const code = await runCerts(args, { stdout: io.stdout, stderr: io.stderr, ...env });
  return { code, stdout: io.out(), stderr: io.err() };
}

/** The YAML block after `heading` in the command's output, up to the next blank line. */
function printedBlock(stdout: string, firstLine: string): string {
  const start = stdout.indexOf(`\n${firstLine}\n`);
  expect(start, `"${firstLine}" in the output`).toBeGreaterThan(-1);
  const rest = stdout.slice(start + 1);
  return rest.slice(0, rest.indexOf('\n\n'));
}

const files = (dir: string) => ({
  ca: path.join(dir, 'ca.crt'),
  caKey: path.join(dir, 'ca.key'),
  server: path.join(dir, 'server.crt'),
  serverKey: path.join(dir, 'server.key'),
  client: path.join(dir, 'clients', 'sensor-01.crt'),
  clientKey: path.join(dir, 'clients', 'sensor-01.key'),
});

async function refused(url: string, options: IClientOptions): Promise<Error> {
  try {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 4, ...options }, false);
    cleanups.push(() => client.endAsync(true));
  } catch (error) {
    return error as Error;
  }
  throw new Error('the connection was accepted');
}

describe.skipIf(!hasOpenssl)('pi-edge-gateway certs', () => {
  let dir: string;
  let removeDir: () => Promise<void>;
  let first: { stdout: string; stderr: string };
  let f: ReturnType<typeof files>;

  beforeAll(async () => {
    ({ dir, remove: removeDir } = await makeTempDir('pi-edge-certs-'));
    dir = path.join(dir, 'certs'); // not there yet: the command creates it
    f = files(dir);
    first = await certs(['--dir', dir, '--client', 'sensor-01', '--san', 'mqtt.example.lan', '--san', '10.99.0.7']);
  });
  afterAll(async () => {
    await removeDir?.();
  });

  const read = (file: string) => readFile(file);

  it('issues a server certificate for the hostname, hostname.local, localhost, every address and --san', async () => {
    const cert = new X509Certificate(await read(f.server));
    const sans = cert.subjectAltName ?? '';
    const host = os.hostname().toLowerCase();
    const short = host.split('.')[0]!;
    for (const name of [host, `${short}.local`, 'localhost', 'mqtt.example.lan']) expect(sans).toContain(`DNS:${name}`);
    expect(sans).toContain('IP Address:127.0.0.1');
    expect(sans).toContain('IP Address:10.99.0.7');
    for (const info of Object.values(os.networkInterfaces()).flat()) {
      if (info?.family === 'IPv4') expect(sans).toContain(`IP Address:${info.address}`);
    }
    expect(cert.checkIssued(new X509Certificate(await read(f.ca)))).toBe(true);
    expect(cert.verify(new X509Certificate(await read(f.ca)).publicKey)).toBe(true);
    expect(createPrivateKey(await read(f.serverKey)).asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    const days = (new Date(cert.validTo).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(823);
    expect(days).toBeLessThan(826);
    const ca = new X509Certificate(await read(f.ca));
    expect(ca.ca).toBe(true);
    expect((new Date(ca.validTo).getTime() - Date.now()) / 86_400_000).toBeGreaterThan(3640);
  });

  it('issues a client certificate with CN=NAME, for clients only', async () => {
    const cert = new X509Certificate(await read(f.client));
    expect(cert.subject).toContain('CN=sensor-01');
    expect(cert.verify(new X509Certificate(await read(f.ca)).publicKey)).toBe(true);
    const { stdout } = await run('openssl', ['x509', '-in', f.client, '-noout', '-ext', 'extendedKeyUsage']);
    expect(stdout).toMatch(/TLS Web Client Authentication/);
    expect(stdout).not.toMatch(/Server/);
  });

  it('keys are 0600, certificates 0644, and nothing is left in staging', async () => {
    for (const key of [f.caKey, f.serverKey, f.clientKey]) expect((await stat(key)).mode & 0o777, key).toBe(0o600);
    for (const cert of [f.ca, f.server, f.client]) expect((await stat(cert)).mode & 0o777, cert).toBe(0o644);
    const { stdout } = await run('ls', ['-A', dir]);
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(['ca.crt', 'ca.key', 'clients', 'server.crt', 'server.key']);
  });

  it('prints a broker listener that the config schema accepts, a bridge, and the mosquitto_sub lines', () => {
    const config = parseConfig(`gateway: { id: pi }\n${printedBlock(first.stdout, 'broker:')}\n${printedBlock(first.stdout, 'bridges:')}\n`, 'printed.yaml');
    expect(config.broker.listeners[0]).toMatchObject({ protocol: 'mqtts', port: 8883, tls: { cert_file: f.server, key_file: f.serverKey, ca_file: f.ca } });
    expect(config.bridges[0]).toMatchObject({ tls: { cafile: f.ca, certfile: f.client, keyfile: f.clientKey } });
    expect(first.stdout).toContain(`mosquitto_sub --cafile ${f.ca} -h ${os.hostname().toLowerCase().split('.')[0]}.local -p 8883 -t '#' -v`);
    expect(first.stdout).toContain(`--cert ${f.client} --key ${f.clientKey}`);
  });

  describe('the embedded broker on the printed listener', () => {
    let app: Application;
    let port: number;

    beforeAll(async () => {
      // The printed config as it is, but on a free loopback port for the test.
      const yaml = `gateway: { id: pi-certs, state_dir: ${JSON.stringify(path.dirname(dir))} }\n${printedBlock(first.stdout, 'broker:')}\n  persistence: false\n  sys_interval: 0\n`;
      const config = parseConfig(yaml.replace('host: 0.0.0.0, port: 8883', 'host: 127.0.0.1, port: 0'), 'printed.yaml');
      app = await startApplication({ file: '/test/printed.yaml', baseDir: dir, config }, { mode: 'broker', logger: silentLogger(), version: '0.0.0-test' });
      port = app.broker.listenerPorts()[0]!;
    });
    afterAll(async () => {
      await app?.stop();
    });

    it.skipIf(!hasMosquittoSub)('accepts mosquitto_sub --cafile ca.crt, by address and by localhost', async () => {
      const publisher = await connectClient(`mqtts://127.0.0.1:${port}`, { ca: await read(f.ca) });
      cleanups.push(() => publisher.endAsync(true));
      await publisher.publishAsync('certs/hello', 'over tls', { qos: 1, retain: true });
      for (const host of ['127.0.0.1', 'localhost']) {
        const result = await runProgram('mosquitto_sub', ['--cafile', f.ca, '-h', host, '-p', String(port), '-t', 'certs/#', '-C', '1', '-W', '10', '-v']);
        expect(result.stderr).toBe('');
        expect(result.stdout.trim()).toBe('certs/hello over tls');
      }
    });

    it('accepts MQTT.js with ca and servername = the hostname, and refuses another name', async () => {
      const hostname = os.hostname();
      const client = await connectClient(`mqtts://127.0.0.1:${port}`, { ca: await read(f.ca), servername: hostname });
      cleanups.push(() => client.endAsync(true));
      expect(client.connected).toBe(true);
      const error = await refused(`mqtts://127.0.0.1:${port}`, { ca: await read(f.ca), servername: 'not-this-pi.example' });
      expect(error.message).toMatch(/Hostname\/IP does not match|altnames/);
    });

    it('refuses a client that does not trust the CA', async () => {
      const error = await refused(`mqtts://127.0.0.1:${port}`, { servername: os.hostname() });
      expect(error.message).toMatch(/unable to (get|verify)|self[- ]signed|certificate/i);
    });
  });

  describe('a listener that requires a client certificate', () => {
    let broker: TestBroker;
    beforeAll(async () => {
      const aclFile = path.join(path.dirname(dir), 'acl');
      await writeFile(aclFile, 'user sensor-01\ntopic readwrite sensors/#\n');
      broker = await startTestBroker({
        aclFile,
        listeners: [loopbackListener({ protocol: 'mqtts', allowAnonymous: false, tls: { certFile: f.server, keyFile: f.serverKey, caFile: f.ca, requireCertificate: true, useIdentityAsUsername: true } })],
      });
    });
    afterAll(async () => {
      await broker?.stop();
    });

    it('accepts the --client certificate, its CN the username, and refuses a client without one', async () => {
      const client = await connectClient(broker.url(), { ca: await read(f.ca), cert: await read(f.client), key: await read(f.clientKey) });
      cleanups.push(() => client.endAsync(true));
      const inbox = collect(client);
      await client.subscribeAsync('sensors/#', { qos: 1 });
      await client.publishAsync('sensors/t', '21', { qos: 1 });
      expect((await inbox.waitFor(1))[0]).toMatchObject({ topic: 'sensors/t', payload: '21' });
      await refused(broker.url(), { ca: await read(f.ca) });
    });

    it.skipIf(!hasMosquittoSub)('mosquitto_sub with --cert/--key from the printed line gets in', async () => {
      const publisher = await connectClient(broker.url(), { ca: await read(f.ca), cert: await read(f.client), key: await read(f.clientKey) });
      cleanups.push(() => publisher.endAsync(true));
      await publisher.publishAsync('sensors/retained', 'yes', { qos: 1, retain: true });
      const args = ['--cafile', f.ca, '--cert', f.client, '--key', f.clientKey, '-h', '127.0.0.1', '-p', String(broker.ports[0]), '-t', 'sensors/retained', '-C', '1', '-W', '10'];
      const result = await runProgram('mosquitto_sub', args);
      expect(result.stdout.trim()).toBe('yes');
      const without = await runProgram('mosquitto_sub', args.filter((a, i) => !['--cert', '--key'].includes(a) && !['--cert', '--key'].includes(args[i - 1]!)));
      expect(without.code).not.toBe(0);
    });
  });

  it.skipIf(MOSQUITTO === undefined)('a real mosquitto serving the server certificate is reached by the bridge with tls: { cafile }', async () => {
    const cloud = await startMosquitto(['allow_anonymous true', `certfile ${f.server}`, `keyfile ${f.serverKey}`]);
    cleanups.push(() => cloud.remove());
    const bridged = async (cafile: string, connectWithinMs: number): Promise<Application> => {
      const yaml = `gateway: { id: pi-bridge, state_dir: ${JSON.stringify(path.join(path.dirname(dir), `state-${Math.random()}`))} }
broker: { listeners: [{ host: 127.0.0.1, port: 0 }], persistence: false, sys_interval: 0 }
bridges:
  - connection: cloud
    addresses: [127.0.0.1:${cloud.port}]
    restart_timeout: 0.2
    tls: { cafile: ${JSON.stringify(cafile)} }
    topics: ['secure/# out 1']
`;
      const app = await startApplication({ file: '/test/bridge.yaml', baseDir: dir, config: parseConfig(yaml, 'bridge.yaml') }, { mode: 'broker', logger: silentLogger(), version: '0.0.0-test' });
      cleanups.push(() => app.stop().catch(() => undefined));
      const deadline = Date.now() + connectWithinMs;
      for (;;) {
        const [state] = await app.broker.retained('$SYS/broker/connection/cloud/state');
        if (state?.payload.toString() === '1') return app;
        if (Date.now() > deadline) throw new Error('bridge state never became 1');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const app = await bridged(f.ca, 10_000);
    const subscriber = await connectClient(`mqtts://127.0.0.1:${cloud.port}`, { ca: await read(f.ca) });
    cleanups.push(() => subscriber.endAsync(true));
    const inbox = collect(subscriber);
    await subscriber.subscribeAsync('secure/#', { qos: 1 });
    const local = await connectClient(`mqtt://127.0.0.1:${app.broker.listenerPorts()[0]}`);
    cleanups.push(() => local.endAsync(true));
    await local.publishAsync('secure/reading', '42', { qos: 1 });
    expect((await inbox.waitFor(1))[0]).toMatchObject({ topic: 'secure/reading', payload: '42' });

    // A CA that did not sign mosquitto's certificate: the bridge must not connect.
    const other = await makeTempDir('pi-edge-certs-other-');
    cleanups.push(other.remove);
    await certs(['--dir', other.dir]);
    await expect(bridged(path.join(other.dir, 'ca.crt'), 2000)).rejects.toThrow('bridge state never became 1');
  });

  describe('run again', () => {
    it('keeps the CA, reissues the server certificate; --force replaces the CA', async () => {
      const again = await makeTempDir('pi-edge-certs-again-');
      cleanups.push(again.remove);
      const g = files(again.dir);
      await certs(['--dir', again.dir, '--client', 'sensor-01']);
      const [caBefore, caKeyBefore, serverBefore, clientBefore] = await Promise.all([read(g.ca), read(g.caKey), read(g.server), read(g.client)]);

      const second = await certs(['--dir', again.dir]);
      expect(second.stdout).toMatch(/^Kept the CA/);
      expect(await read(g.ca)).toEqual(caBefore);
      expect(await read(g.caKey)).toEqual(caKeyBefore);
      const serverAfter = new X509Certificate(await read(g.server));
      expect(serverAfter.serialNumber).not.toBe(new X509Certificate(serverBefore).serialNumber);
      expect(serverAfter.verify(new X509Certificate(caBefore).publicKey)).toBe(true);
      // The client certificate was not asked for again: it is left as it was, still valid under the kept CA.
      expect(await read(g.client)).toEqual(clientBefore);

      const forced = await certs(['--dir', again.dir, '--force']);
      expect(forced.stdout).toMatch(/^Created a new CA/);
      const newCa = new X509Certificate(await read(g.ca));
      expect(newCa.fingerprint256).not.toBe(new X509Certificate(caBefore).fingerprint256);
      expect(new X509Certificate(await read(g.server)).verify(newCa.publicKey)).toBe(true);
      expect(new X509Certificate(clientBefore).verify(newCa.publicKey)).toBe(false);
    });

    it('refuses a CA certificate without its key, and a key that is not its pair', async () => {
      const broken = await makeTempDir('pi-edge-certs-broken-');
      cleanups.push(broken.remove);
      const g = files(broken.dir);
      await certs(['--dir', broken.dir]);
      const other = await makeTempDir('pi-edge-certs-other-');
      cleanups.push(other.remove);
      await certs(['--dir', other.dir]);
      await writeFile(g.caKey, await read(path.join(other.dir, 'ca.key')));
      await expect(certs(['--dir', broken.dir])).rejects.toThrow(`${g.caKey} is not the key of ${g.ca}`);
      await rm(g.caKey);
      await expect(certs(['--dir', broken.dir])).rejects.toThrow(`${g.caKey} is missing but its pair is there`);
    });
  });

  describe('owners and modes as root', () => {
    it.skipIf(!isRoot || !hasBinary('runuser'))('--owner gives the service user\'s group the server and client keys (0640), never the CA key', async () => {
      const owned = await makeTempDir('pi-edge-certs-owner-');
      cleanups.push(owned.remove);
      await chmod(owned.dir, 0o755); // mkdtemp's 0700 would stop nobody before the modes are tested
      const g = files(owned.dir);
      const result = await certs(['--dir', owned.dir, '--client', 'sensor-01', '--owner', 'nobody']);
      expect(result.stderr).not.toMatch(/readable by root only/);
      const { stdout: gid } = await run('id', ['-g', 'nobody']);
      for (const key of [g.serverKey, g.clientKey]) {
        const s = await stat(key);
        expect(s.mode & 0o777, key).toBe(0o640);
        expect(s.gid, key).toBe(Number(gid.trim()));
        expect(s.uid, key).toBe(0);
      }
      expect((await stat(g.caKey)).mode & 0o777).toBe(0o600);
      const asNobody = (file: string) => runProgram('runuser', ['-u', 'nobody', '--', 'cat', file]);
      expect((await asNobody(g.serverKey)).code).toBe(0);
      expect((await asNobody(g.caKey)).code).not.toBe(0);
    });

    it('--owner without root is a usage error, and an unknown user a clear one', async () => {
      await expect(certs(['--dir', '/nonexistent/x', '--owner', 'nobody'], { isRoot: false })).rejects.toThrow(/--owner nobody needs root/);
      await expect(certs(['--dir', '/nonexistent/x', '--owner', 'no-such-user-xyz'], { isRoot: true })).rejects.toThrow(/--owner no-such-user-xyz: no such user/);
    });
  });

  it('issues RSA 2048 with --key-type rsa', async () => {
    const rsa = await makeTempDir('pi-edge-certs-rsa-');
    cleanups.push(rsa.remove);
    await certs(['--dir', rsa.dir, '--key-type', 'rsa']);
    const key = createPrivateKey(await read(path.join(rsa.dir, 'server.key')));
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    await run('openssl', ['verify', '-CAfile', path.join(rsa.dir, 'ca.crt'), path.join(rsa.dir, 'server.crt')]);
  });

  it('a missing openssl is one clear error, before anything is written', async () => {
    const target = path.join(os.tmpdir(), `pi-edge-certs-none-${process.pid}`);
    await expect(certs(['--dir', target], { openssl: '/nonexistent/openssl' })).rejects.toThrow(OpenSslMissingError);
    await expect(certs(['--dir', target], { openssl: '/nonexistent/openssl' })).rejects.toThrow(/needs the openssl command/);
    expect(existsSync(target)).toBe(false);
  });

  it.each([
    [['--client', 'bad name'], /--client "bad name": expected/],
    [['--san', 'not a name!'], /--san not a name!: expected a DNS name/],
    [['--san', 'IP:example.com'], /expected an IPv4 or IPv6 address/],
    [['--key-type', 'dsa'], /--key-type dsa: expected ec or rsa/],
    [['--days', '0'], /--days 0/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('refuses %j with a usage error', async (args, message) => {
    const error = await certs(['--dir', '/nonexistent/x', ...args]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
  });

  it('the CLI runs it: exit 0 and the lines printed; a usage error exits 2', async () => {
    const cli = await makeTempDir('pi-edge-certs-cli-');
    cleanups.push(cli.remove);
    const runCli = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), 'certs', ...args], { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
    const ok = await runCli(['--dir', cli.dir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`mosquitto_sub --cafile ${path.join(cli.dir, 'ca.crt')}`);
    const bad = await runCli(['--dir', cli.dir, '--key-type', 'dsa']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--key-type dsa/);
  });
});
