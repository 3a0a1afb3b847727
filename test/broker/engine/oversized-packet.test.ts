import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/free-port.js';
import { PACKET, RawMqttClient } from '../../helpers/raw-mqtt.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { startCliProcess } from '../../helpers/cli-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
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
    const child = await startCliProcess('broker', config, port);
    cleanups.push(() => void child.kill('SIGKILL'));

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
