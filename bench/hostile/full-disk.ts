/**
 * The state directory on a real 2 MiB tmpfs that fills up, for our broker and Debian's mosquitto 2.0 in the same
 * run: `--messages` retained QoS 1 messages of 2 KiB published (each PUBACKed before the next); then either the
 * filesystem grows to 30 MiB and 50 more are published before the stop, or the stop comes while it is still full; the
 * broker is stopped (SIGTERM for mosquitto), started again on the same directory, and the retained messages counted. Prints acknowledged vs restored, what the stop said and, for ours,
 * how long health() was degraded.
 *
 *   sudo npx tsx bench/hostile/full-disk.ts [--messages 2000]
 *
 * Needs root (mount -t tmpfs); mosquitto is skipped when /usr/sbin/mosquitto is missing.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { createBroker } from '../../src/broker/create-broker.js';
import { DEFAULT_LIMITS } from '../../src/broker/options.js';
import { silentLogger } from '../../src/util/logger.js';

const run = promisify(execFile);
const MOSQUITTO = '/usr/sbin/mosquitto';
const PAYLOAD = 'x'.repeat(2048);

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function publishAll(url: string, prefix: string, count: number): Promise<number> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `filler-${prefix}` });
  let acked = 0;
  for (let i = 0; i < count; i++) {
    await client.publishAsync(`${prefix}/${i}`, PAYLOAD, { qos: 1, retain: true });
    acked++;
  }
  await client.endAsync();
  return acked;
}

async function countRetained(url: string): Promise<number> {
  const client: MqttClient = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  let count = 0;
  let last = Date.now();
  client.on('message', (_t, _p, packet) => {
    if (packet.retain) count++;
    last = Date.now();
  });
  await client.subscribeAsync('#');
  while (Date.now() - last < 1000) await new Promise((resolve) => setTimeout(resolve, 100));
  await client.endAsync();
  return count;
}

/** `grow`: the filesystem grows before the stop (space returned); otherwise only after it, for the restart. */
async function ours(dir: string, messages: number, grow: boolean): Promise<Record<string, unknown>> {
  const options = { id: 'bench', version: 'bench', listeners: [{ protocol: 'mqtt' as const, host: '127.0.0.1', port: 0, path: '/mqtt', allowAnonymous: true }], sysIntervalSeconds: 0, limits: DEFAULT_LIMITS, persistenceDir: path.join(dir, 'state', 'broker') };
  const broker = createBroker(options, silentLogger());
  await broker.start();
  const url = `mqtt://127.0.0.1:${broker.listenerPorts()[0]}`;
  let degradedSince: number | undefined;
  let degradedMs = 0;
  const watch = setInterval(() => {
    const degraded = broker.health().status === 'degraded';
    if (degraded && degradedSince === undefined) degradedSince = Date.now();
    if (!degraded && degradedSince !== undefined) {
      degradedMs += Date.now() - degradedSince;
      degradedSince = undefined;
    }
  }, 20);
  let acked = await publishAll(url, 'before', messages);
  const wasDegraded = broker.health().status === 'degraded';
  if (grow) {
    await run('mount', ['-o', 'remount,size=30m', dir]);
    acked += await publishAll(url, 'after', 50);
    const deadline = Date.now() + 20_000;
    while (broker.health().status !== 'ok' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  clearInterval(watch);
  const stop = await broker.stop().then(
    () => 'ok',
    (error: Error) => `failed: ${error.message}`,
  );
  if (!grow) await run('mount', ['-o', 'remount,size=30m', dir]);
  const again = createBroker(options, silentLogger());
  await again.start();
  const restored = (await again.retained('#')).length;
  await again.stop();
  return { acknowledged: acked, restored, degradedWhileFull: wasDegraded, degradedMs, writeFailures: broker.stats.storageWriteFailures, recoveries: broker.stats.storageRecoveries, stop };
}

async function mosquitto(dir: string, messages: number, grow: boolean): Promise<Record<string, unknown>> {
  const port = await freePort();
  const store = path.join(dir, 'state');
  await mkdir(store, { recursive: true });
  const conf = path.join(os.tmpdir(), `pi-edge-full-disk-${port}.conf`);
  await writeFile(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${store}/`, ...(process.getuid?.() === 0 ? ['user root'] : []), ''].join('\n'));
  const start = async (): Promise<ChildProcess> => {
    const child = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
        s.on('error', () => resolve(false));
      });
      if (up) return child;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const url = `mqtt://127.0.0.1:${port}`;
  const first = await start();
  let acked = await publishAll(url, 'before', messages);
  if (grow) {
    await run('mount', ['-o', 'remount,size=30m', dir]);
    acked += await publishAll(url, 'after', 50);
  }
  const exited = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)));
  first.kill('SIGTERM');
  const exitCode = await exited;
  if (!grow) await run('mount', ['-o', 'remount,size=30m', dir]);
  const second = await start();
  const restored = await countRetained(url);
  second.kill('SIGTERM');
  await rm(conf, { force: true });
  return { acknowledged: acked, restored, stopExitCode: exitCode, note: 'saves only at shutdown and every autosave_interval (30 min)' };
}

async function onSmallDisk<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const parent = await mkdtemp(path.join(os.tmpdir(), 'pi-edge-full-disk-'));
  const dir = path.join(parent, 'mnt');
  await mkdir(dir);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
  try {
    return await body(dir);
  } finally {
    await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
    await rm(parent, { recursive: true, force: true });
  }
}

const { values } = parseArgs({ options: { messages: { type: 'string', default: '2000' } } });
const messages = Number(values.messages);
if (process.getuid?.() !== 0) {
  console.error('needs root: it mounts a 2 MiB tmpfs');
  process.exit(2);
}
for (const grow of [true, false]) {
  console.log(grow ? '\n== the disk fills, then grows to 30 MiB before the stop' : '\n== the disk is still full at the stop (grown only for the restart)');
  console.log('ours:', JSON.stringify(await onSmallDisk((dir) => ours(dir, messages, grow))));
  if (existsSync(MOSQUITTO)) console.log('mosquitto 2.0:', JSON.stringify(await onSmallDisk((dir) => mosquitto(dir, messages, grow))));
}
