/**
 * Hostile clients against our broker and Debian's mosquitto 2.0, in the same run, with a printed summary:
 *
 * - password guessing: `--rate` wrong CONNECTs/s from 127.0.0.1 for `--seconds`, while a good client connects from
 *   127.0.0.2 every 100 ms: how many answers, how many came back at once (a password checked at full speed), the
 *   good client's slowest connect;
 * - a PUBLISH whose topic is not valid UTF-8, one holding U+0000, and a CONNECT with a password and no username:
 *   whether the connection is closed (what MQTT 3.1.1 requires) and whether the message was routed.
 *
 *   npx tsx bench/hostile/auth-and-strings.ts [--rate 200] [--seconds 3]
 *
 * Needs /usr/sbin/mosquitto for the comparison (skipped without it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt, { MqttClient } from 'mqtt';
import { hashPassword } from '../../src/broker/auth/password-file.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MOSQUITTO = '/usr/sbin/mosquitto';
const USER = 'sensor';
const PASSWORD = 'right-password';

interface Running {
  name: string;
  port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('broker did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
}

async function startOurs(dir: string, passwordFile: string): Promise<Running> {
  const port = await freePort();
  const config = path.join(dir, 'ours.yaml');
  await writeFile(
    config,
    `gateway:\n  state_dir: ${dir}/state\nlog:\n  level: error\nbroker:\n  sys_interval: 0\n  password_file: ${passwordFile}\n  listeners:\n    - { host: 127.0.0.1, port: ${port}, allow_anonymous: false }\n`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), 'broker', '--config', config], {
    cwd: ROOT,
    stdio: 'ignore',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  await waitForPort(port, child);
  return { name: 'ours', port, stop: stopper(child) };
}

async function startMosquitto(dir: string, passwordFile: string): Promise<Running> {
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  const asRoot = process.getuid?.() === 0 ? ['user root'] : [];
  await writeFile(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${passwordFile}`, ...asRoot, ''].join('\n'));
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
  await waitForPort(port, child);
  return { name: 'mosquitto 2.0', port, stop: stopper(child) };
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

function connectPacket(clientId: string, user: string | undefined, password: string): Buffer {
  const id = Buffer.from(clientId);
  const fields = [u16(id.length), id];
  let flags = 0x42; // password, clean session
  if (user !== undefined) {
    flags |= 0x80;
    fields.push(u16(Buffer.byteLength(user)), Buffer.from(user));
  }
  fields.push(u16(Buffer.byteLength(password)), Buffer.from(password));
  const body = Buffer.concat([Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, flags, 0x00, 0x3c]), ...fields]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

interface Attempt {
  code: number | 'closed';
  ms: number;
}

function attempt(port: number, packet: Buffer, localAddress = '127.0.0.1'): Promise<Attempt> {
  const began = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => socket.write(packet));
    let done = false;
    const finish = (code: number | 'closed') => {
      if (done) return;
      done = true;
      resolve({ code, ms: Date.now() - began });
      socket.destroy();
    };
    socket.on('data', (d) => d[0] === 0x20 && d.length >= 4 && finish(d[3]!));
    socket.on('close', () => finish('closed'));
    socket.on('error', () => undefined);
    setTimeout(() => finish('closed'), 20_000).unref();
  });
}

async function connectFrom(localAddress: string, port: number): Promise<MqttClient> {
  const client = new MqttClient(() => net.connect({ host: '127.0.0.1', port, localAddress }), { reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 4, username: USER, password: PASSWORD });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

async function guessing(broker: Running, rate: number, seconds: number) {
  const attempts: Promise<Attempt>[] = [];
  const good: number[] = [];
  const start = Date.now();
  const flood = (async () => {
    for (let n = 0; Date.now() - start < seconds * 1000; n++) {
      attempts.push(attempt(broker.port, connectPacket(`guess-${n}`, USER, `wrong-${n}`)));
      const next = start + ((n + 1) * 1000) / rate;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
    }
  })();
  const served = (async () => {
    while (Date.now() - start < seconds * 1000) {
      const began = Date.now();
      const client = await connectFrom('127.0.0.2', broker.port);
      good.push(Date.now() - began);
      await client.endAsync();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  await Promise.all([flood, served]);
  const results = await Promise.all(attempts);
  const sorted = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    attempts: results.length,
    answeredWithin100ms: results.filter((r) => r.code !== 'closed' && r.ms < 100).length,
    codes: Object.fromEntries([...new Set(results.map((r) => String(r.code)))].map((c) => [c, results.filter((r) => String(r.code) === c).length])),
    medianAnswerMs: sorted[Math.floor(sorted.length / 2)],
    goodConnects: good.length,
    goodSlowestMs: Math.max(...good),
  };
}

/** Sends `packet` after a good CONNECT; whether the broker closed the connection, and whether a '#' subscriber got it. */
async function afterConnect(broker: Running, packet: Buffer): Promise<{ closed: boolean; routed: boolean }> {
  const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { username: USER, password: PASSWORD, reconnectPeriod: 0 });
  let routed = false;
  watcher.on('message', () => (routed = true));
  await watcher.subscribeAsync('#');
  const socket = net.connect({ host: '127.0.0.1', port: broker.port });
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(connectPacket('raw', USER, PASSWORD));
  await new Promise((resolve) => socket.once('data', resolve));
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  socket.write(packet);
  await new Promise((resolve) => setTimeout(resolve, 500));
  socket.destroy();
  await watcher.endAsync();
  return { closed, routed };
}

function publishPacket(topic: Buffer): Buffer {
  const body = Buffer.concat([u16(topic.length), topic, Buffer.from('payload')]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '3' } } });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pi-edge-hostile-'));
  const passwordFile = path.join(dir, 'passwd');
  // mosquitto 2.0's own cost (101 iterations) would make its checks cheap; both read the same file.
  await writeFile(passwordFile, `${USER}:${await hashPassword(PASSWORD)}\n`);
  const starters = [startOurs, ...(existsSync(MOSQUITTO) ? [startMosquitto] : [])];
  try {
    for (const start of starters) {
      const broker = await start(dir, passwordFile);
      try {
        console.log(`\n== ${broker.name}`);
        console.log('password guessing:', JSON.stringify(await guessing(broker, rate, seconds)));
        // Let a throttled address's entry go before the next part: it is not what is measured there.
        console.log('invalid UTF-8 topic:', JSON.stringify(await afterConnect(broker, publishPacket(Buffer.from([0x61, 0x2f, 0xc0, 0xaf])))));
        console.log('U+0000 in topic:', JSON.stringify(await afterConnect(broker, publishPacket(Buffer.from('a/\u0000/b')))));
        const noUser = await attempt(broker.port, connectPacket('no-user', undefined, PASSWORD), '127.0.0.3');
        console.log('password without username:', JSON.stringify({ answer: noUser.code === 'closed' ? 'connection closed, no CONNACK' : `CONNACK ${noUser.code}` }));
      } finally {
        await broker.stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
