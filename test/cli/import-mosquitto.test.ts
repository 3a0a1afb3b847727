import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startApplication } from '../../src/app/application.js';
import { loadConfigFile } from '../../src/app/config/load.js';
import { runImportMosquitto } from '../../src/cli/import-mosquitto.js';
import { silentLogger } from '../../src/util/logger.js';
import { collect, connectClient, subackCodes } from '../helpers/broker.js';
import { freePort } from '../helpers/free-port.js';
import { hasBinary, runProgram } from '../helpers/mosquitto.js';
import { MOSQUITTO, startMosquitto } from '../helpers/mosquitto-broker.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { capturedIo } from '../helpers/captured-io.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const { dir, remove } = await makeTempDir('pi-edge-import-');
  cleanups.push(remove);
  return dir;
}

/** `import-mosquitto` in-process, with its standard output and error captured. */
async function importConf(args: string[], hostname = 'test-pi'): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = capturedIo();
  const code = await runImportMosquitto(args, { stdout: io.stdout, stderr: io.stderr, hostname });
  return { code, stdout: io.out(), stderr: io.err() };
}

/** Converts `conf` into `<dir>/converted.yaml` and loads it as the gateway would. */
async function convertAndLoad(conf: string, dir: string, hostname?: string) {
  const out = path.join(dir, 'converted.yaml');
  const result = await importConf([conf, '--out', out], hostname);
  expect(result.code, result.stderr).toBe(0);
  return { ...result, out, loaded: await loadConfigFile(out) };
}

const SEED = `listener 1883
protocol mqtt
listener 9001
protocol websockets
listener 8883
protocol mqtt
cafile /mosquitto/config/certs/ca.crt
certfile /mosquitto/config/certs/server.crt
keyfile /mosquitto/config/certs/server.key
require_certificate false
allow_anonymous false
password_file /mosquitto/config/passwd
acl_file /mosquitto/config/acl
persistence true
persistence_location /mosquitto/data/
max_connections -1
max_keepalive 65535
message_size_limit 0
max_inflight_messages 20
max_queued_messages 1000
connection cloud-bridge
address cloud.example.com:8883
bridge_cafile /mosquitto/config/certs/cloud-ca.crt
remote_username bridge-user
remote_password bridge-password
topic devices/# out 1
topic commands/# in 1
topic "" out 1 local/ remote/
cleansession false
notifications true
notification_topic $SYS/broker/bridge/status
try_private true
`;

describe('import-mosquitto: conversions', () => {
  it("converts the issue's seed-style config into one that loads, with its notes on stderr at their lines", async () => {
    const dir = await tempDir();
    const conf = path.join(dir, 'mosquitto.conf');
    await writeFile(conf, SEED);
    const { loaded, stderr, out } = await convertAndLoad(conf, dir);
    const { broker, bridges, gateway } = loaded.config;
    expect(broker.listeners.map((l) => [l.protocol, l.host, l.port, l.allow_anonymous])).toEqual([
      ['mqtt', '0.0.0.0', 1883, false],
      ['ws', '0.0.0.0', 9001, false],
      ['mqtts', '0.0.0.0', 8883, false],
    ]);
    expect(broker.listeners[2]!.tls).toEqual({
      cert_file: '/mosquitto/config/certs/server.crt',
      key_file: '/mosquitto/config/certs/server.key',
      ca_file: '/mosquitto/config/certs/ca.crt',
      require_certificate: false,
      use_identity_as_username: false,
    });
    expect(broker).toMatchObject({
      password_file: '/mosquitto/config/passwd',
      acl_file: '/mosquitto/config/acl',
      persistence: true,
      max_connections: -1,
      max_keepalive: 65535,
      message_size_limit: 0,
      max_inflight_messages: 20,
      max_queued_messages: 1000,
    });
    expect(gateway.state_dir).toBe('/mosquitto/data/');
    expect(bridges).toHaveLength(1);
    expect(bridges[0]).toMatchObject({
      connection: 'cloud-bridge',
      addresses: [{ host: 'cloud.example.com', port: 8883 }],
      remote_username: 'bridge-user',
      remote_password: 'bridge-password',
      remote_clientid: 'test-pi.cloud-bridge',
      cleansession: false,
      notifications: true,
      notification_topic: '$SYS/broker/bridge/status',
      try_private: true,
      tls: { cafile: '/mosquitto/config/certs/cloud-ca.crt' },
    });
    expect(bridges[0]!.topics).toEqual([
      { pattern: 'devices/#', direction: 'out', qos: 1, localPrefix: undefined, remotePrefix: undefined },
      { pattern: 'commands/#', direction: 'in', qos: 1, localPrefix: undefined, remotePrefix: undefined },
      { pattern: undefined, direction: 'out', qos: 1, localPrefix: 'local/', remotePrefix: 'remote/' },
    ]);
    // One line per note, each naming the file and line.
    const lines = stderr.trim().split('\n');
    const notes = lines.slice(0, -1);
    expect(notes.every((l) => l.startsWith(`${conf}:`))).toBe(true);
    expect(notes.some((l) => l.startsWith(`${conf}:3: protocol: websockets`))).toBe(true);
    expect(notes.some((l) => l.startsWith(`${conf}:15: persistence_location:`))).toBe(true);
    expect(stderr).not.toContain('bridge-password');
    // The header names the source; the file holds a password: its owner's only.
    const text = await readFile(out, 'utf8');
    expect(text.split('\n')[0]).toBe(`# Converted from ${conf} by \`pi-edge-gateway import-mosquitto\`.`);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
  });

  const debianExample = ['/usr/share/doc/mosquitto/examples/mosquitto.conf', '/usr/share/doc/mosquitto/examples/mosquitto.conf.gz'].find((f) => existsSync(f));
  it.skipIf(!debianExample)("converts Debian's example mosquitto.conf (needs the mosquitto package's examples)", async () => {
    const dir = await tempDir();
    const conf = path.join(dir, 'mosquitto.conf');
    const raw = await readFile(debianExample!);
    await writeFile(conf, debianExample!.endsWith('.gz') ? gunzipSync(raw) : raw);
    const { loaded } = await convertAndLoad(conf, dir);
    // Every line is a comment: mosquitto 2's defaults, the local only mode.
    expect(loaded.config.broker.listeners.map((l) => [l.host, l.port, l.allow_anonymous])).toEqual([['127.0.0.1', 1883, true]]);
    expect(loaded.config.broker).toMatchObject({ persistence: false, message_size_limit: 0, max_queued_messages: 1000 });
  });

  it.skipIf(!existsSync('/etc/mosquitto/mosquitto.conf'))("converts Debian's installed /etc/mosquitto/mosquitto.conf and its conf.d (needs the mosquitto package)", async () => {
    const dir = await tempDir();
    const { loaded, stderr } = await convertAndLoad('/etc/mosquitto/mosquitto.conf', dir);
    expect(loaded.config.broker.persistence).toBe(true);
    expect(loaded.config.gateway.state_dir).toBe('/var/lib/mosquitto/');
    expect(stderr).toMatch(/^\/etc\/mosquitto\/mosquitto\.conf:\d+: pid_file: /m);
    expect(stderr).toMatch(/^\/etc\/mosquitto\/mosquitto\.conf:\d+: log_dest: /m);
  });

  it('converts a config with include_dir and a bridge, the included files read in order', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'conf.d'));
    await writeFile(path.join(dir, 'conf.d', '10-listeners.conf'), 'listener 1883 127.0.0.1\nlistener 8883\ncertfile certs/server.crt\nkeyfile certs/server.key\n');
    await writeFile(path.join(dir, 'conf.d', '20-bridge.conf'), 'connection aws.iot\naddresses a.example.com:8883 b.example.com\nbridge_cafile /c/aws-ca.pem\nbridge_certfile /c/pi.crt\nbridge_keyfile /c/pi.key\ntopic pi/# out 1 "" site1/\nbridge_attempt_unsubscribe false\nround_robin true\n');
    await writeFile(path.join(dir, 'conf.d', '30-security.conf.disabled'), 'allow_anonymous true\n');
    const conf = path.join(dir, 'mosquitto.conf');
    await writeFile(conf, `password_file ${dir}/passwd\ninclude_dir ${dir}/conf.d\n`);
    const { loaded, stderr } = await convertAndLoad(conf, dir);
    const { broker, bridges } = loaded.config;
    expect(broker.listeners.map((l) => [l.protocol, l.host, l.port, l.allow_anonymous])).toEqual([
      ['mqtt', '127.0.0.1', 1883, false],
      ['mqtts', '0.0.0.0', 8883, false],
    ]);
    // Relative paths are resolved, from the main file's directory, and said so.
    expect(broker.listeners[1]!.tls?.cert_file).toBe(path.join(dir, 'certs/server.crt'));
    expect(stderr).toContain(`${path.join(dir, 'conf.d', '10-listeners.conf')}:3: certfile: relative path "certs/server.crt"`);
    expect(broker.password_file).toBe(`${dir}/passwd`);
    expect(bridges[0]).toMatchObject({
      connection: 'aws-iot',
      addresses: [{ host: 'a.example.com', port: 8883 }, { host: 'b.example.com', port: 1883 }],
      remote_clientid: 'test-pi.aws.iot',
      tls: { cafile: '/c/aws-ca.pem', certfile: '/c/pi.crt', keyfile: '/c/pi.key' },
    });
    const bridgeFile = path.join(dir, 'conf.d', '20-bridge.conf');
    for (const expected of [`${bridgeFile}:1: connection:`, `${bridgeFile}:7: bridge_attempt_unsubscribe:`, `${bridgeFile}:8: round_robin:`]) {
      expect(stderr).toContain(expected);
    }
  });
});

/** `pi-edge-gateway import-mosquitto ...` as a child process, for its exit code and streams. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), 'import-mosquitto', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('import-mosquitto: the command', () => {
  it('writes the config to standard output and exits 0, and exits 78 with file:line for a conf mosquitto would refuse', async () => {
    const dir = await tempDir();
    const good = path.join(dir, 'good.conf');
    await writeFile(good, 'listener 1883 127.0.0.1\nallow_anonymous true\nlog_type all\n');
    const ok = await cli([good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('allow_anonymous: true');
    expect(ok.stderr).toBe(`${good}:3: log_type: logging is JSON lines on standard output (journald keeps them); set log.level instead\n`);

    const bad = path.join(dir, 'bad.conf');
    await writeFile(bad, 'listener 1883\n# fine so far\nmax_inflight_messages lots\n');
    const refused = await cli([bad]);
    expect(refused.code).toBe(78);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(`pi-edge-gateway import-mosquitto: ${bad}:3: max_inflight_messages: expected a whole number, got "lots"\n`);

    const missing = await cli([path.join(dir, 'missing.conf')]);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain(`cannot read ${path.join(dir, 'missing.conf')}: no such file`);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------------------
// The same clients, the same passwords and ACLs: mosquitto on the original file, the gateway on the converted one.

const canCompare = MOSQUITTO !== undefined && hasBinary('mosquitto_passwd');

/** mosquitto on `conf`, until the test ends; resolved once every port accepts connections. */
async function runMosquitto(conf: string, ports: number[]): Promise<void> {
  const child: ChildProcess = spawn(MOSQUITTO!, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  cleanups.push(stop);
  for (const port of ports) {
    const deadline = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  }
  // The gateway takes the same ports next: stop() must come before it, so the caller gets it too.
  runningMosquittoStop = stop;
}
let runningMosquittoStop: (() => Promise<void>) | undefined;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

interface Identity {
  name: string;
  username?: string;
  password?: string;
}

const IDENTITIES: Identity[] = [
  { name: 'anonymous' },
  { name: 'alice', username: 'alice', password: 'alice-pw' },
  { name: 'alice, wrong password', username: 'alice', password: 'not-her-pw' },
  { name: 'bob', username: 'bob', password: 'bob-pw' },
  { name: 'mallory (unknown)', username: 'mallory', password: 'x' },
];

const TOPICS = ['public/news', 'sensors/temp', 'commands/led', 'clients/alice/x', 'clients/bob/x', 'other/x'];

const ACL = `# anonymous clients
topic read public/#

user alice
topic readwrite sensors/#
topic read commands/#

user bob
topic write commands/#
topic read sensors/#

user admin
topic readwrite #

pattern readwrite clients/%u/#
`;

/** A topic the identity may read, published after the others: once it arrives, everything before it has. */
const markerFor = (who: Identity) => (who.username ? `clients/${who.username}/marker` : 'public/marker');

/** What a set of MQTT.js clients observe of a broker on `ports` (anonymous allowed on the first, not the second). */
async function observe(ports: number[]): Promise<Record<string, unknown>> {
  const clients: MqttClient[] = [];
  const open = async (port: number, who: Identity, clientId: string): Promise<MqttClient | string> => {
    try {
      const client = await connectClient(`mqtt://127.0.0.1:${port}`, { clientId, username: who.username, password: who.password });
      clients.push(client);
      return client;
    } catch (error) {
      // Only whether: the CONNACK code differs (mosquitto 2.0 answers 5, not authorized, to a wrong password; the
      // broker here 4, bad user name or password), which clients report alike.
      if (typeof (error as { code?: unknown }).code === 'number') return 'refused';
      throw error;
    }
  };
  try {
    const admin = (await open(ports[1]!, { name: 'admin', username: 'admin', password: 'admin-pw' }, 'admin')) as MqttClient;
    expect(typeof admin).not.toBe('string');
    const watcher = (await open(ports[1]!, { name: 'admin', username: 'admin', password: 'admin-pw' }, 'watcher')) as MqttClient;
    await watcher.subscribeAsync('#', { qos: 1 });
    const watched = collect(watcher);
    const transcript: Record<string, unknown> = {};
    let n = 0;
    for (const [index, port] of ports.entries()) {
      for (const who of IDENTITIES) {
        const key = `listener ${index + 1} (${index === 0 ? 'anonymous allowed' : 'anonymous refused'}), ${who.name}`;
        const client = await open(port, who, `c${n++}`);
        if (typeof client === 'string') {
          transcript[key] = client;
          continue;
        }
        // Publish: what the admin's '#' subscription sees of it.
        for (const topic of TOPICS) await client.publishAsync(topic, `${key} -> ${topic}`, { qos: 1 });
        const marker = `marker ${n}`;
        await admin.publishAsync('admin/marker', marker, { qos: 1 });
        while (!watched.messages.some((m) => m.payload === marker)) await watched.waitFor(watched.messages.length + 1);
        const published = TOPICS.filter((topic) => watched.messages.some((m) => m.payload === `${key} -> ${topic}`));
        // Subscribe: what the client receives of the admin's publications.
        const received = collect(client);
        // SUBACK codes are not compared: mosquitto 2.0 grants every subscription and filters on delivery; the
        // broker here refuses a filter no read rule covers (README). What arrives is the same.
        await subackCodes(client, [...TOPICS, markerFor(who)], 1);
        for (const topic of TOPICS) await admin.publishAsync(topic, `to ${key}`, { qos: 1 });
        await admin.publishAsync(markerFor(who), 'end', { qos: 1 });
        while (!received.messages.some((m) => m.topic === markerFor(who))) await received.waitFor(received.messages.length + 1);
        const readable = TOPICS.filter((topic) => received.messages.some((m) => m.topic === topic));
        transcript[key] = { published, readable };
        await client.endAsync();
      }
    }
    return transcript;
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  }
}

describe.skipIf(!canCompare)('import-mosquitto: the gateway on the converted config answers clients as mosquitto did', () => {
  it('accepts and refuses the same clients and lets them publish and read the same topics, per listener', async () => {
    const dir = await tempDir();
    const passwd = path.join(dir, 'passwd');
    for (const [index, [user, pw]] of [['alice', 'alice-pw'], ['bob', 'bob-pw'], ['admin', 'admin-pw']].entries()) {
      const result = await runProgram('mosquitto_passwd', [...(index === 0 ? ['-c'] : []), '-b', passwd, user!, pw!]);
      expect(result.code, result.stderr).toBe(0);
    }
    await chmod(passwd, 0o600);
    await writeFile(path.join(dir, 'acl'), ACL, { mode: 0o600 });
    const ports = [await freePort(), await freePort()];
    const conf = path.join(dir, 'mosquitto.conf');
    await writeFile(
      conf,
      `# per listener: anonymous clients on the first listener only
per_listener_settings true
listener ${ports[0]} 127.0.0.1
allow_anonymous true
password_file ${passwd}
acl_file ${dir}/acl
listener ${ports[1]} 127.0.0.1
allow_anonymous false
password_file ${passwd}
acl_file ${dir}/acl
log_dest stderr
${process.getuid?.() === 0 ? 'user root' : ''}
`,
    );

    await runMosquitto(conf, ports);
    const fromMosquitto = await observe(ports);
    await runningMosquittoStop!();

    const { loaded } = await convertAndLoad(conf, dir);
    const app = await startApplication(loaded, { mode: 'broker', logger: silentLogger(), version: '0.0.0-test' });
    cleanups.push(() => app.stop());
    const fromGateway = await observe(ports);

    expect(fromGateway).toEqual(fromMosquitto);
    // Not a comparison of two brokers refusing everything: the transcript has each kind of answer.
    expect(fromMosquitto).toMatchObject({
      'listener 1 (anonymous allowed), anonymous': { published: [], readable: ['public/news'] },
      'listener 2 (anonymous refused), anonymous': 'refused',
      'listener 2 (anonymous refused), alice, wrong password': 'refused',
      'listener 2 (anonymous refused), mallory (unknown)': 'refused',
      'listener 1 (anonymous allowed), mallory (unknown)': 'refused',
      'listener 2 (anonymous refused), alice': { published: ['sensors/temp', 'clients/alice/x'], readable: ['sensors/temp', 'commands/led', 'clients/alice/x'] },
      'listener 2 (anonymous refused), bob': { published: ['commands/led', 'clients/bob/x'], readable: ['sensors/temp', 'clients/bob/x'] },
    });
  }, 120_000);

  it("bridges to a real mosquitto standing in for the cloud, under mosquitto's default client id", async () => {
    const cloud = await startMosquitto(['allow_anonymous true']);
    cleanups.push(() => cloud.remove());
    const dir = await tempDir();
    const port = await freePort();
    const conf = path.join(dir, 'mosquitto.conf');
    await writeFile(
      conf,
      `listener ${port} 127.0.0.1
allow_anonymous true
persistence_location ${dir}/state/

connection cloud
address 127.0.0.1:${cloud.port}
topic devices/# out 1
topic commands/# in 1 pi/ site1/
restart_timeout 1
`,
    );
    const { loaded } = await convertAndLoad(conf, dir, 'test-pi');
    const app = await startApplication(loaded, { mode: 'broker', logger: silentLogger(), version: '0.0.0-test' });
    cleanups.push(() => app.stop());

    const local = await connectClient(`mqtt://127.0.0.1:${port}`);
    const remote = await connectClient(`mqtt://127.0.0.1:${cloud.port}`);
    cleanups.push(() => local.endAsync(true), () => remote.endAsync(true));
    // mosquitto's notification topic, under its default client id <hostname>.<connection>: '1' once connected.
    const localState = collect(local);
    await local.subscribeAsync(['$SYS/broker/connection/test-pi.cloud/state', 'pi/commands/#'], { qos: 1 });
    while (!localState.messages.some((m) => m.topic.endsWith('/state') && m.payload === '1')) await localState.waitFor(localState.messages.length + 1);

    const cloudSeen = collect(remote);
    await remote.subscribeAsync(['devices/#', '$SYS/broker/connection/test-pi.cloud/state'], { qos: 1 });
    await local.publishAsync('devices/porch/state', '{"t":21}', { qos: 1 });
    while (!cloudSeen.messages.some((m) => m.topic === 'devices/porch/state')) await cloudSeen.waitFor(cloudSeen.messages.length + 1);
    expect(cloudSeen.messages.find((m) => m.topic === 'devices/porch/state')?.payload).toBe('{"t":21}');

    await remote.publishAsync('site1/commands/led', 'ON', { qos: 1 });
    while (!localState.messages.some((m) => m.topic === 'pi/commands/led')) await localState.waitFor(localState.messages.length + 1);
    expect(localState.messages.find((m) => m.topic === 'pi/commands/led')?.payload).toBe('ON');
    // Its queue went to mosquitto's persistence_location, now the gateway's state directory.
    expect(existsSync(path.join(dir, 'state'))).toBe(true);
  }, 60_000);
});
