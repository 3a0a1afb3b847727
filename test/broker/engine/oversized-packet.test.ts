import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/free-port.js';
import { PACKET, RawMqttClient } from '../../helpers/raw-mqtt.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

async function startBroker(config: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), 'broker', '--config', config], {
    cwd: repoRoot,
    stdio: 'ignore',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  cleanups.push(() => void child.kill('SIGKILL'));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) return child;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('broker did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Writes `chunk` until `total` bytes are sent or the socket is closed; the bytes the socket took. */
async function stream(socket: net.Socket, chunk: Buffer, total: number): Promise<number> {
  let sent = 0;
  while (sent < total && !socket.destroyed) {
    const drained = socket.write(chunk);
    sent += chunk.length;
    if (!drained) {
      await new Promise<void>((resolve) => {
        const done = () => (socket.off('drain', done), socket.off('close', done), resolve());
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
  return sent;
}

describe.runIf(process.platform === 'linux')('a PUBLISH announcing more than message_size_limit', () => {
  it('is refused from its fixed header: 200 MB announced, the client cut off, the broker grows by under 5 MiB', async () => {
    const temp = await makeTempDir('pi-edge-oversized-');
    cleanups.push(temp.remove);
    const port = await freePort();
    const config = path.join(temp.dir, 'broker.yaml');
    await writeFile(config, `broker:\n  persistence: false\n  sys_interval: 0\n  message_size_limit: 1024\n  listeners: [{ host: 127.0.0.1, port: ${port} }]\n`);
    const child = await startBroker(config, port);

    const raw = await RawMqttClient.open(port);
    cleanups.push(() => raw.close());
    raw.connectPacket('hog', true);
    await raw.next(PACKET.CONNACK);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = rssBytes(child.pid!);

    const closed = new Promise<number>((resolve) => {
      const at = Date.now();
      raw.socket.once('close', () => resolve(Date.now() - at));
    });
    // Fixed header: PUBLISH QoS 1, remaining length 200,000,000; topic "a/b"; then payload bytes for ever.
    raw.socket.write(Buffer.from([0x32, 0x80, 0x84, 0xaf, 0x5f, 0x00, 0x03, 0x61, 0x2f, 0x62, 0x00, 0x01]));
    const sent = await stream(raw.socket, Buffer.alloc(64 * 1024, 0x61), 64 * 1024 * 1024);
    const closedAfterMs = await closed;
    const grown = rssBytes(child.pid!) - before;

    expect(closedAfterMs).toBeLessThan(5_000);
    // What the kernel's socket buffers took before the close was seen, not all 64 MiB.
    expect(sent).toBeLessThan(32 * 1024 * 1024);
    expect(grown).toBeLessThan(5 * 1024 * 1024);
    // The broker is still there for everyone else.
    const other = await RawMqttClient.open(port);
    cleanups.push(() => other.close());
    other.connectPacket('polite', true);
    await other.next(PACKET.CONNACK);
  }, 60_000);
});
