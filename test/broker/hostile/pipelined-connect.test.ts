import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { remainingLength, PACKET, RawMqttClient, u16 } from '../../helpers/raw-mqtt.js';
import { loopbackListener, settle, startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { createLogger } from '../../../src/util/logger.js';
import { CONNECT_BACKLOG_BYTES } from '../../../src/broker/engine/engine.js';

// Issue 16, two findings of the protocol fuzzer: packets sent right behind a CONNECT (pipelining), and connections
// whose first packet is not a CONNECT.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(options: Parameters<typeof startTestBroker>[0] = {}): Promise<{ b: TestBroker; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const b = await startTestBroker(options, logger);
  cleanups.push(() => b.stop());
  return { b, lines };
}

async function raw(port: number): Promise<RawMqttClient> {
  const client = await RawMqttClient.open(port);
  cleanups.push(() => client.close());
  return client;
}

function frame(type: number, flags: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(type << 4) | flags]), remainingLength(body.length), body]);
}

function connectFrame(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  return frame(1, 0, Buffer.concat([Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c]), u16(id.length), id]));
}

function publishFrame(topic: string, messageId: number, payload: Buffer): Buffer {
  const name = Buffer.from(topic);
  return frame(PACKET.PUBLISH, 0x02, Buffer.concat([u16(name.length), name, u16(messageId), payload]));
}

async function closedWithin(client: RawMqttClient, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!client.socket.destroyed && !client.socket.readableEnded) {
    if (Date.now() > deadline) return false;
    await settle(20);
  }
  return true;
}

describe('packets pipelined behind CONNECT', () => {
  it('are all served: a device flushing 300 QoS 1 messages with its CONNECT gets 300 PUBACKs and stays connected', async () => {
    const { b } = await broker();
    const device = await raw(b.ports[0]!);
    const packets = [connectFrame('flusher')];
    for (let id = 1; id <= 300; id++) packets.push(publishFrame('queue/flush', id, Buffer.from(`reading ${id}`)));
    // One write: the packets arrive in the read that carries the CONNECT, while it is still being authenticated.
    device.socket.write(Buffer.concat(packets));
    await device.next(PACKET.CONNACK);
    const acks = [await device.next(PACKET.PUBACK), ...(await device.collect(PACKET.PUBACK, 1000))];
    expect(acks.map((ack) => ack.body.readUInt16BE(0))).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(device.socket.destroyed).toBe(false);
    expect(b.broker.stats.connectBacklogCloses).toBe(0);
  }, 30_000);

  it('are bounded by bytes: more than CONNECT_BACKLOG_BYTES in one read before CONNACK closes the connection, logged and counted', async () => {
    // A WebSocket message is read whole, so one message carries all of it into a single read; over TCP a read is
    // at most 64 KiB and the read loop reads no more until the CONNECT is handled.
    const { b, lines } = await broker({ listeners: [loopbackListener({ protocol: 'ws', path: '/mqtt' })] });
    const payload = Buffer.alloc(16 * 1024, 0x61);
    const packets = [connectFrame('hoarder')];
    let bytes = 0;
    for (let id = 1; bytes <= CONNECT_BACKLOG_BYTES; id++) {
      const packet = publishFrame('queue/hoard', id, payload);
      packets.push(packet);
      bytes += packet.length;
    }
    const ws = new WebSocket(`ws://127.0.0.1:${b.ports[0]}/mqtt`, ['mqtt']);
    cleanups.push(() => ws.terminate());
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.send(Buffer.concat(packets));
    await closed;
    expect(b.broker.stats.connectBacklogCloses).toBe(1);
    expect(b.broker.stats.publishReceived).toBe(0);
    const line = lines.find((l) => typeof l.msg === 'string' && l.msg.includes('before its CONNECT was answered'));
    expect(line).toMatchObject({ limit: CONNECT_BACKLOG_BYTES });
  }, 30_000);

  it('under the byte bound over WebSocket too: one message with CONNECT and 100 publishes is served', async () => {
    const { b } = await broker({ listeners: [loopbackListener({ protocol: 'ws', path: '/mqtt' })] });
    const packets = [connectFrame('ws-flusher')];
    for (let id = 1; id <= 100; id++) packets.push(publishFrame('queue/ws', id, Buffer.from(`reading ${id}`)));
    const ws = new WebSocket(`ws://127.0.0.1:${b.ports[0]}/mqtt`, ['mqtt']);
    cleanups.push(() => ws.terminate());
    let pubacks = 0;
    const allAcked = new Promise<void>((resolve) =>
      ws.on('message', (data: Buffer) => {
        // Loopback: CONNACK and PUBACKs are small, whole frames; count the PUBACK fixed headers.
        for (let i = 0; i < data.length; ) {
          if (data[i] === 0x40) pubacks++;
          i += 2 + data[i + 1]!;
        }
        if (pubacks === 100) resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    ws.send(Buffer.concat(packets));
    await allAcked;
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(b.broker.stats.connectBacklogCloses).toBe(0);
  }, 30_000);
});

describe("a connection's first packet must be CONNECT (MQTT-3.1.0-1)", () => {
  it('garbage is closed as soon as its first byte is read, and counted as a protocol violation', async () => {
    const { b } = await broker();
    const stranger = await raw(b.ports[0]!);
    // 'GET ' of an HTTP request: type 4 (PUBACK) in the first byte. No remaining length needed to refuse it.
    stranger.socket.write(Buffer.from('G'));
    // aedes' connectTimeout is 30 s: closing well within 5 s can only be the first-byte check.
    expect(await closedWithin(stranger, 5000)).toBe(true);
    expect(b.broker.stats.protocolViolations).toBe(1);
  });

  it('a well-formed PUBLISH before CONNECT is closed too, and never routed', async () => {
    const { b } = await broker();
    const stranger = await raw(b.ports[0]!);
    stranger.socket.write(publishFrame('no/connect', 1, Buffer.from('x')));
    expect(await closedWithin(stranger, 5000)).toBe(true);
    expect(b.broker.stats.protocolViolations).toBe(1);
    expect(b.broker.stats.publishReceived).toBe(0);
  });
});
