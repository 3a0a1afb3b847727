import type { Client } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import type { PacketLike } from '../../../../src/broker/engine/aedes-internals.js';
import { FlushScheduler } from '../../../../src/broker/engine/delivery/flush-scheduler.js';
import { MessageFlow } from '../../../../src/broker/engine/delivery/message-flow.js';
import { WirePacket } from '../../../../src/broker/engine/wire/packet-reader.js';
import { collect, connectClient, startTestBroker, type TestBroker } from '../../../helpers/broker.js';
import { decodePublish, PACKET, RawMqttClient, remainingLength, u16 } from '../../../helpers/raw-mqtt.js';

function publishFrame(topic: string, payload: string, qos: 0 | 1, messageId = 0): Buffer {
  const name = Buffer.from(topic);
  const body = Buffer.concat([u16(name.length), name, qos > 0 ? u16(messageId) : Buffer.alloc(0), Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0x30 | (qos << 1)]), remainingLength(body.length), body]);
}

describe('MessageFlow, with real clients', () => {
  let broker: TestBroker | undefined;
  const raws: RawMqttClient[] = [];

  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.close();
    await broker?.stop();
    broker = undefined;
  });

  async function rawClient(clientId: string): Promise<RawMqttClient> {
    const raw = await RawMqttClient.open(broker!.ports[0]!);
    raws.push(raw);
    raw.connectPacket(clientId, true);
    await raw.next(PACKET.CONNACK);
    return raw;
  }

  it('acknowledges every QoS 1 PUBLISH of a read, in order, and routes all of them, in order per QoS', async () => {
    broker = await startTestBroker();
    const subscriber = await connectClient(broker.url());
    await subscriber.subscribeAsync('flow/#', { qos: 1 });
    const received = collect(subscriber);
    const publisher = await rawClient('pub');

    const frames = [];
    for (let i = 0; i < 8; i++) frames.push(publishFrame(`flow/${i}`, `m${i}`, i % 4 === 3 ? 0 : 1, 100 + i));
    publisher.socket.write(Buffer.concat(frames));

    // MQTT 3.1.1 (4.6) keeps the order of a client's messages of one QoS; a QoS 1 message waits for the session store
    // and a QoS 0 message read after it does not. The delivery dedupe must not take the late one for a repeat.
    const messages = await received.waitFor(8);
    expect(messages.filter((m) => m.qos === 1).map((m) => m.payload)).toEqual(['m0', 'm1', 'm2', 'm4', 'm5', 'm6']);
    expect(messages.filter((m) => m.qos === 0).map((m) => m.payload)).toEqual(['m3', 'm7']);
    const acks = await publisher.collect(PACKET.PUBACK);
    expect(acks.map((a) => a.body.readUInt16BE(0))).toEqual([100, 101, 102, 104, 105, 106]);
    await subscriber.endAsync();
  });

  it.each([
    ['a wildcard +', 'a/+/b'],
    ['a wildcard #', 'a/#'],
    ['an empty topic', ''],
    ['more than 100 levels', 'x/'.repeat(100) + 'x'],
  ])('disconnects a client that publishes to %s, and nobody receives it', async (_name, topic) => {
    broker = await startTestBroker();
    const watcher = await rawClient('watcher');
    watcher.subscribePacket(1, '#', 1);
    await watcher.next(PACKET.SUBACK);
    const publisher = await rawClient('bad');
    const closed = new Promise<void>((resolve) => publisher.socket.once('close', () => resolve()));
    publisher.socket.write(publishFrame(topic, 'x', 1, 7));
    await closed;
    expect(await publisher.collect(PACKET.PUBACK, 100)).toEqual([]);
    expect(await watcher.collect(PACKET.PUBLISH, 200)).toEqual([]);
  });

  it('acknowledges and drops a PUBLISH the broker refuses ($SYS), and the client stays', async () => {
    broker = await startTestBroker();
    const watcher = await rawClient('watcher');
    watcher.subscribePacket(1, '$SYS/#', 0);
    await watcher.next(PACKET.SUBACK);
    const publisher = await rawClient('writer');
    publisher.socket.write(Buffer.concat([publishFrame('$SYS/broker/fake', 'x', 1, 9), publishFrame('ok/t', 'y', 1, 10)]));
    const acks = await publisher.collect(PACKET.PUBACK);
    expect(acks.map((a) => a.body.readUInt16BE(0))).toEqual([9, 10]);
    const published = (await watcher.collect(PACKET.PUBLISH, 200)).map(decodePublish);
    expect(published.filter((p) => p.topic === '$SYS/broker/fake')).toEqual([]);
    expect(publisher.socket.destroyed).toBe(false);
  });
});

/** The parts of an aedes client the flow uses, recording what it does. */
function fakeClient(options: { routesAtOnce: boolean; socketFull?: boolean }) {
  const routed: { packet: PacketLike; done: (error?: Error | null) => void }[] = [];
  const writes: Buffer[] = [];
  const drains: ((error: Error | null) => void)[] = [];
  const errors: Error[] = [];
  const cleared: [string, number][] = [];
  const freed: number[] = [];
  const window = { acknowledged: (messageId: number) => freed.push(messageId) };
  const client = {
    id: 'c',
    connected: true,
    closed: false,
    _parsingBatch: 0,
    nextBatches: 0,
    _nextBatch() {
      client.nextBatches++;
      client._parsingBatch--;
    },
    _keepaliveInterval: -1,
    _keepaliveTimer: null,
    conn: {
      write(buffer: Buffer) {
        writes.push(buffer);
        return !options.socketFull;
      },
    },
    waitForDrain(callback: (error: Error | null) => void) {
      drains.push(callback);
    },
    emit(_event: string, error: Error) {
      errors.push(error);
    },
    broker: {
      maxTopicLevels: 100,
      persistence: {
        outgoingClearNow(clientId: string, packet: PacketLike) {
          cleared.push([clientId, packet.messageId!]);
          return undefined;
        },
      },
      listenerCount: () => 0,
      emit: () => true,
      publish(packet: PacketLike, _client: unknown, done: (error?: Error | null) => void) {
        routed.push({ packet, done });
        if (options.routesAtOnce) done();
      },
    },
  };
  return { client, routed, writes, drains, errors, cleared, freed, window, flow: new MessageFlow(client as unknown as Client, () => {}, new FlushScheduler(), window) };
}

function wirePublish(topic: string, qos: number, messageId: number): WirePacket {
  const packet = new WirePacket('publish', qos << 1, 0);
  packet.topic = topic;
  packet.payload = Buffer.from('p');
  packet.messageId = messageId;
  return packet;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('MessageFlow, read loop', () => {
  it('does not resume reading while a read is being parsed; routings that completed meanwhile count off at its end', () => {
    const { client, flow, writes } = fakeClient({ routesAtOnce: true });
    expect(flow.take(wirePublish('t', 1, 1))).toBe(true);
    expect(flow.take(wirePublish('t', 0, 0))).toBe(true);
    // Both routed at once, and still counted: nothing may resume reading from inside the parse.
    expect(client.nextBatches).toBe(0);
    expect(client._parsingBatch).toBe(2);
    expect(writes).toEqual([]);
    flow.chunkDone();
    // Every message of the read routed: its PUBACK is written at the end of the read, and everything counted off
    // there, in one call.
    expect(writes).toEqual([Buffer.from([0x40, 2, 0, 1])]);
    expect(client.nextBatches).toBe(1);
    expect(client._parsingBatch).toBe(0);
  });

  it('reads on only when every PUBLISH of the read has been routed and the PUBACKs written', async () => {
    const { client, flow, routed, writes } = fakeClient({ routesAtOnce: false });
    flow.take(wirePublish('t', 1, 1));
    flow.take(wirePublish('t', 1, 2));
    flow.chunkDone();
    routed[0]!.done();
    expect(client._parsingBatch).toBe(2);
    routed[1]!.done();
    expect(client._parsingBatch).toBe(1);
    await nextTurn();
    expect(writes).toEqual([Buffer.from([0x40, 2, 0, 1, 0x40, 2, 0, 2])]);
    expect(client._parsingBatch).toBe(0);
  });

  it('writes what a read routed, then its PUBACKs, before the read ends', () => {
    const scheduler = new FlushScheduler();
    const order: string[] = [];
    const { client, window } = fakeClient({ routesAtOnce: true });
    client.conn.write = (buffer: Buffer) => {
      order.push(`puback ${buffer.readUInt16BE(2)}`);
      return true;
    };
    const subscriber = { flush: () => order.push('delivery') };
    client.broker.publish = (_packet: PacketLike, _client: unknown, done: (error?: Error | null) => void) => {
      scheduler.markDirty(subscriber);
      done();
    };
    const flow = new MessageFlow(client as unknown as Client, () => {}, scheduler, window);
    flow.take(wirePublish('t', 1, 3));
    flow.take(wirePublish('t', 1, 4));
    expect(order).toEqual([]);
    flow.chunkDone();
    expect(order).toEqual(['delivery', 'puback 3']);
  });

  it('takes a PUBACK out of the session and frees its slot in the window, within the read', () => {
    const { flow, cleared, freed } = fakeClient({ routesAtOnce: true });
    const puback = new WirePacket('puback', 0, 0);
    puback.messageId = 42;
    expect(flow.take(puback)).toBe(true);
    flow.chunkDone();
    expect(cleared).toEqual([['c', 42]]);
    expect(freed).toEqual([42]);
  });

  it('writes the PUBACKs of a read after the deliveries flushed in the same turn', async () => {
    const scheduler = new FlushScheduler();
    const order: string[] = [];
    const { client, routed, window } = fakeClient({ routesAtOnce: false });
    client.conn.write = (buffer: Buffer) => {
      order.push(`puback ${buffer.readUInt16BE(2)}`);
      return true;
    };
    const flow = new MessageFlow(client as unknown as Client, () => {}, scheduler, window);
    flow.take(wirePublish('t', 1, 5));
    flow.chunkDone();
    // a subscriber's window marked in the same turn (as a QoS 1 message does on the store's first lookup of a topic)
    scheduler.markDirty({ flush: () => order.push('delivery') });
    routed[0]!.done();
    await nextTurn();
    expect(order).toEqual(['delivery', 'puback 5']);
  });

  it('stops reading from a publisher that does not read its PUBACKs until its socket drains', async () => {
    const { client, flow, routed, drains } = fakeClient({ routesAtOnce: false, socketFull: true });
    flow.take(wirePublish('t', 1, 1));
    flow.chunkDone();
    routed[0]!.done();
    expect(client._parsingBatch).toBe(1);
    await nextTurn();
    expect(drains).toHaveLength(1);
    expect(client._parsingBatch).toBe(1);
    drains[0]!(null);
    expect(client._parsingBatch).toBe(0);
  });

  it('leaves QoS 2, other packets and clients not yet connected to aedes', () => {
    const { client, flow, routed } = fakeClient({ routesAtOnce: true });
    expect(flow.take(wirePublish('t', 2, 1))).toBe(false);
    expect(flow.take(new WirePacket('pubrec', 0, 2))).toBe(false);
    client.connected = false;
    expect(flow.take(wirePublish('t', 1, 1))).toBe(false);
    expect(routed).toEqual([]);
  });
});
