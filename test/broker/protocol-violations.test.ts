import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, connectClient, settle, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { PACKET, RawMqttClient, u16 } from '../helpers/raw-mqtt.js';

// MQTT 3.1.1 §1.5.3 and §3.1.2.9: what a broker must close the connection for, instead of answering.

const brokers: TestBroker[] = [];
const clients: MqttClient[] = [];
const raws: RawMqttClient[] = [];

afterEach(async () => {
  for (const r of raws.splice(0)) r.close();
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
  for (const b of brokers.splice(0)) await b.stop();
});

async function setup(): Promise<{ b: TestBroker; inbox: ReturnType<typeof collect>; raw: RawMqttClient }> {
  const b = await startTestBroker();
  brokers.push(b);
  const watcher = await connectClient(b.url());
  clients.push(watcher);
  const inbox = collect(watcher);
  await watcher.subscribeAsync('#', { qos: 1 });
  const raw = await RawMqttClient.open(b.ports[0]!);
  raws.push(raw);
  raw.connectPacket('raw', true);
  await raw.next(PACKET.CONNACK);
  return { b, inbox, raw };
}

function publish(raw: RawMqttClient, topic: Buffer, payload: string, messageId = 1): void {
  raw.send(PACKET.PUBLISH, 0x02, Buffer.concat([u16(topic.length), topic, u16(messageId), Buffer.from(payload)]));
}

async function closed(raw: RawMqttClient, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!raw.socket.destroyed && !raw.socket.readableEnded) {
    if (Date.now() > deadline) return false;
    await settle(20);
  }
  return true;
}

describe('strings that are not valid MQTT UTF-8', () => {
  it('a PUBLISH topic with invalid UTF-8 closes the connection and is not routed', async () => {
    const { b, inbox, raw } = await setup();
    // 0xC0 0xAF and 0xC1 0xAF both decode to U+FFFD U+FFFD: two different topics would arrive as one.
    publish(raw, Buffer.from([0x61, 0x2f, 0xc0, 0xaf]), 'one');
    expect(await closed(raw)).toBe(true);
    await settle(200);
    expect(inbox.messages).toEqual([]);
    expect(b.broker.stats.protocolViolations).toBe(1);
  });

  it('a PUBLISH topic holding U+0000 closes the connection and is not routed', async () => {
    const { b, inbox, raw } = await setup();
    publish(raw, Buffer.from('a/\u0000/b'), 'nul');
    expect(await closed(raw)).toBe(true);
    await settle(200);
    expect(inbox.messages).toEqual([]);
    expect(b.broker.stats.protocolViolations).toBe(1);
  });

  it('a surrogate encoded in UTF-8 (CESU) is invalid too', async () => {
    const { inbox, raw } = await setup();
    publish(raw, Buffer.from([0x61, 0xed, 0xa0, 0x80]), 'surrogate');
    expect(await closed(raw)).toBe(true);
    await settle(200);
    expect(inbox.messages).toEqual([]);
  });

  it('a SUBSCRIBE filter with invalid UTF-8 closes the connection without SUBACK', async () => {
    const { b, raw } = await setup();
    const filter = Buffer.from([0x61, 0x2f, 0xff]);
    raw.send(8, 2, Buffer.concat([u16(7), u16(filter.length), filter, Buffer.from([1])]));
    expect(await closed(raw)).toBe(true);
    await expect(raw.next(PACKET.SUBACK, 100)).rejects.toThrow();
    expect(b.broker.stats.protocolViolations).toBe(1);
  });

  it('an UNSUBSCRIBE filter with U+0000 closes the connection', async () => {
    const { raw } = await setup();
    const filter = Buffer.from('a/\u0000');
    raw.send(10, 2, Buffer.concat([u16(8), u16(filter.length), filter]));
    expect(await closed(raw)).toBe(true);
  });

  it('valid multi-byte topics pass', async () => {
    const { b, inbox, raw } = await setup();
    publish(raw, Buffer.from('maison/température/°C/😀'), '21.5');
    await raw.next(PACKET.PUBACK);
    expect((await inbox.waitFor(1))[0]).toMatchObject({ topic: 'maison/température/°C/😀', payload: '21.5' });
    expect(b.broker.stats.protocolViolations).toBe(0);
  });
});

describe('CONNECT', () => {
  it('with the password flag and no username flag is closed without CONNACK (MQTT-3.1.2-22)', async () => {
    const b = await startTestBroker();
    brokers.push(b);
    const raw = await RawMqttClient.open(b.ports[0]!);
    raws.push(raw);
    const id = Buffer.from('no-user');
    const password = Buffer.from('secret');
    // Flags 0x42: password, clean session; no username.
    raw.send(1, 0, Buffer.concat([Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x42, 0x00, 0x3c]), u16(id.length), id, u16(password.length), password]));
    expect(await closed(raw)).toBe(true);
    await expect(raw.next(PACKET.CONNACK, 100)).rejects.toThrow();
    expect(b.broker.stats.protocolViolations).toBe(1);
    expect(b.broker.connectedClients).toBe(0);
  });
});
