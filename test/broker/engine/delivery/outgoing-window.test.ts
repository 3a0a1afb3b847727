import type { Client } from 'aedes';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PacketLike } from '../../../../src/broker/engine/aedes-internals.js';
import { FlushScheduler } from '../../../../src/broker/engine/delivery/flush-scheduler.js';
import { SessionWrites } from '../../../../src/broker/engine/delivery/session-writes.js';
import { OutgoingWindow, type QueueLimit, type WindowLimits } from '../../../../src/broker/engine/delivery/outgoing-window.js';
import type { BrokerLimits } from '../../../../src/broker/options.js';
import { collect, connectClient, settle, startTestBroker, type TestBroker } from '../../../helpers/broker.js';
import { decodePublish, PACKET, RawMqttClient } from '../../../helpers/raw-mqtt.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

let broker: TestBroker | undefined;
const raws: RawMqttClient[] = [];
let temp: { dir: string; remove: () => Promise<void> } | undefined;

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.close();
  await broker?.stop();
  broker = undefined;
  await temp?.remove();
  temp = undefined;
});

async function start(limits: Partial<BrokerLimits>, persistenceDir?: string): Promise<TestBroker> {
  broker = await startTestBroker({ limits: limits as BrokerLimits, persistenceDir });
  return broker;
}

/** A raw client, connected and subscribed, that acknowledges nothing unless told to. */
async function subscriber(port: number, filter: string, qos: number, clientId = 'slow', clean = true): Promise<RawMqttClient> {
  const raw = await RawMqttClient.open(port);
  raws.push(raw);
  raw.connectPacket(clientId, clean);
  await raw.next(PACKET.CONNACK);
  raw.subscribePacket(1, filter, qos);
  await raw.next(PACKET.SUBACK);
  return raw;
}

async function publishNumbered(count: number, qos: 1 | 2, topic = 'w/t'): Promise<void> {
  for (let i = 0; i < count; i++) await broker!.broker.bus('test').publish({ topic, payload: String(i), qos });
}

describe('max_inflight_messages', () => {
  it('sends at most that many unacknowledged QoS 1 messages, and the next ones as acknowledgements come', async () => {
    const b = await start({ maxInflightMessages: 3 });
    const raw = await subscriber(b.ports[0]!, 'w/#', 1);
    await publishNumbered(10, 1);

    const first = (await raw.collect(PACKET.PUBLISH)).map(decodePublish);
    expect(first.map((p) => p.payload)).toEqual(['0', '1', '2']);
    expect(new Set(first.map((p) => p.messageId)).size).toBe(3);

    raw.ack(PACKET.PUBACK, first[0]!.messageId!);
    const one = (await raw.collect(PACKET.PUBLISH)).map(decodePublish);
    expect(one.map((p) => p.payload)).toEqual(['3']);

    const rest: string[] = [];
    let unacked = [first[1]!, first[2]!, one[0]!];
    while (unacked.length > 0) {
      for (const p of unacked) raw.ack(PACKET.PUBACK, p.messageId!);
      unacked = (await raw.collect(PACKET.PUBLISH, 200)).map(decodePublish);
      expect(unacked.length).toBeLessThanOrEqual(3);
      rest.push(...unacked.map((p) => p.payload));
    }
    expect(rest).toEqual(['4', '5', '6', '7', '8', '9']);
  });

  it('keeps a QoS 2 message in the window until PUBCOMP, not PUBREC', async () => {
    const b = await start({ maxInflightMessages: 1 });
    const raw = await subscriber(b.ports[0]!, 'w/t', 2);
    await publishNumbered(2, 2);

    const [first, ...none] = (await raw.collect(PACKET.PUBLISH)).map(decodePublish);
    expect(first).toMatchObject({ payload: '0', qos: 2 });
    expect(none).toEqual([]);

    raw.ack(PACKET.PUBREC, first!.messageId!);
    await raw.next(PACKET.PUBREL);
    expect(await raw.collect(PACKET.PUBLISH)).toEqual([]);

    raw.ack(PACKET.PUBCOMP, first!.messageId!);
    const [second] = (await raw.collect(PACKET.PUBLISH)).map(decodePublish);
    expect(second).toMatchObject({ payload: '1', qos: 2 });
  });

  it('0 lifts the limit', async () => {
    const b = await start({ maxInflightMessages: 0 });
    const raw = await subscriber(b.ports[0]!, 'w/t', 1);
    await publishNumbered(200, 1);
    const received = (await raw.collect(PACKET.PUBLISH)).map(decodePublish);
    expect(received.map((p) => p.payload)).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
  });

  it("keeps a persistent session's messages waiting behind the window across a reconnect", async () => {
    temp = await makeTempDir();
    const b = await start({ maxInflightMessages: 2 }, temp.dir);
    const first = await subscriber(b.ports[0]!, 'w/t', 1, 'durable', false);
    await publishNumbered(6, 1);
    expect((await first.collect(PACKET.PUBLISH)).map((p) => decodePublish(p).payload)).toEqual(['0', '1']);
    first.close();

    const again = await RawMqttClient.open(b.ports[0]!);
    raws.push(again);
    again.connectPacket('durable', false);
    await again.next(PACKET.CONNACK);
    const replayed = (await again.collect(PACKET.PUBLISH)).map(decodePublish);
    expect(replayed.map((p) => p.payload)).toEqual(['0', '1', '2', '3', '4', '5']);
  });
});

describe('a subscriber that stops reading', () => {
  it('is disconnected after drain_timeout, and the others get every message meanwhile', async () => {
    const b = await start({ maxInflightMessages: 0, drainTimeoutMs: 300 });
    const stalled = await subscriber(b.ports[0]!, 'big/#', 1, 'stalled');
    stalled.socket.pause();
    const healthy = await connectClient(b.url());
    const inbox = collect(healthy);
    await healthy.subscribeAsync('big/#', { qos: 1 });
    const payload = Buffer.alloc(64 * 1024, 0x61);
    // ~13 MB: far more than the kernel buffers of a loopback socket hold.
    for (let i = 0; i < 200; i++) await b.broker.bus('test').publish({ topic: 'big/t', payload, qos: 1 });
    await inbox.waitFor(200, 10_000);
    // The client itself, not reading, cannot see the close yet: the broker's count says it.
    await expect.poll(() => b.broker.connectedClients, { timeout: 5000 }).toBe(1);
    await healthy.endAsync();
  }, 20_000);

  it('does not hold up the others while its window is full of unacknowledged messages', async () => {
    const b = await start({ maxInflightMessages: 5 });
    await subscriber(b.ports[0]!, 'w/#', 1, 'never-acks');
    const healthy = await connectClient(b.url());
    const inbox = collect(healthy);
    await healthy.subscribeAsync('w/#', { qos: 1 });
    await publishNumbered(100, 1);
    expect((await inbox.waitFor(100)).map((m) => m.payload)).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    await healthy.endAsync();
  });
});

describe('max_queued_messages for a connected client', () => {
  it('drops what does not fit behind a full window, counts it, and delivers the rest', async () => {
    const b = await start({ maxInflightMessages: 1, maxQueuedMessages: 2 });
    const raw = await subscriber(b.ports[0]!, 'w/t', 1);
    await publishNumbered(6, 1);

    const received: string[] = [];
    let batch = (await raw.collect(PACKET.PUBLISH)).map(decodePublish);
    while (batch.length > 0) {
      expect(batch).toHaveLength(1);
      received.push(batch[0]!.payload);
      raw.ack(PACKET.PUBACK, batch[0]!.messageId!);
      batch = (await raw.collect(PACKET.PUBLISH, 200)).map(decodePublish);
    }
    expect(received).toEqual(['0', '1', '2']);
    expect(b.broker.stats.publishDropped).toBe(3);
  });
});

describe('QoS of a delivery', () => {
  it('is capped by a wildcard subscription, not only by one to the exact topic', async () => {
    const b = await start({});
    const sub = await connectClient(b.url());
    const inbox = collect(sub);
    await sub.subscribeAsync('w/#', { qos: 1 });
    const pub = await connectClient(b.url());
    await pub.publishAsync('w/t', 'x', { qos: 2 });
    const [message] = await inbox.waitFor(1);
    expect(message).toMatchObject({ topic: 'w/t', payload: 'x', qos: 1 });
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });

  it('of a live QoS 1 message is 0 for a QoS 0 subscription (MQTT-3.8.4-6), which then needs no acknowledgement', async () => {
    const b = await start({ maxInflightMessages: 20 });
    const raw = await subscriber(b.ports[0]!, 'w/#', 0);
    const pub = await connectClient(b.url());
    for (let i = 0; i < 30; i++) await pub.publishAsync('w/t', String(i), { qos: 1 });
    const received = await raw.collect(PACKET.PUBLISH);
    // Acknowledging nothing, it still gets all 30: none took a slot of the in-flight window.
    expect(received.map((p) => decodePublish(p))).toEqual(Array.from({ length: 30 }, (_, i) => ({ topic: 'w/t', payload: String(i), qos: 0, messageId: undefined })));
    await pub.endAsync();
  });

  it('of a retained message replayed on SUBSCRIBE is capped by that subscription', async () => {
    const b = await start({});
    await b.broker.bus('test').publish({ topic: 'w/kept', payload: 'r', qos: 1, retain: true });
    const sub = await connectClient(b.url());
    const inbox = collect(sub);
    await sub.subscribeAsync('w/+', { qos: 0 });
    const [message] = await inbox.waitFor(1);
    expect(message).toMatchObject({ topic: 'w/kept', payload: 'r', qos: 0, retain: true });
    await sub.endAsync();
  });

  it('is the highest of overlapping subscriptions, delivered once', async () => {
    const b = await start({});
    const sub = await connectClient(b.url());
    const inbox = collect(sub);
    await sub.subscribeAsync({ 'w/#': { qos: 1 }, 'w/+': { qos: 2 } });
    const pub = await connectClient(b.url());
    await pub.publishAsync('w/t', 'x', { qos: 2 });
    await inbox.waitFor(1);
    await settle(200);
    expect(inbox.messages.map((m) => m.qos)).toEqual([2]);
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });

  it.each([
    ['the QoS 0 one first', ['w/#', 'w/t']],
    ['the QoS 1 one first', ['w/t', 'w/#']],
  ])('is the highest of overlapping QoS 0 and QoS 1 subscriptions, subscribed %s', async (_order, [first, second]) => {
    const b = await start({});
    const sub = await connectClient(b.url());
    const inbox = collect(sub);
    const qos = { 'w/#': 0, 'w/t': 1 } as Record<string, 0 | 1>;
    await sub.subscribeAsync(first!, { qos: qos[first!]! });
    await sub.subscribeAsync(second!, { qos: qos[second!]! });
    const pub = await connectClient(b.url());
    await pub.publishAsync('w/t', 'x', { qos: 1 });
    await pub.publishAsync('w/t', 'y', { qos: 0 });
    await inbox.waitFor(2);
    await settle(200);
    expect(inbox.messages.map((m) => [m.payload, m.qos])).toEqual([
      ['x', 1],
      ['y', 0],
    ]);
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });
});

/** The parts of an aedes client a window uses, with a socket that records its writes. */
function fakeClient(options: { socketFull?: boolean; limits?: WindowLimits; dropped?: (clientId: string, limit: QueueLimit) => void } = {}) {
  const writes: string[] = [];
  const errors: Error[] = [];
  const drains: ((error: Error | null) => void)[] = [];
  const client = {
    id: 'c',
    clean: true,
    closed: false,
    connected: true,
    connecting: false,
    subscriptions: { t: { qos: 1 } },
    duplicates: {},
    _nextId: 1,
    conn: {
      write(buffer: Buffer) {
        writes.push(buffer.toString('latin1'));
        return !options.socketFull;
      },
    },
    waitForDrain(callback: (error: Error | null) => void) {
      drains.push(callback);
    },
    emit(_event: 'error', error: Error) {
      errors.push(error);
      return true;
    },
    broker: {
      authorizeForward: (_client: unknown, packet: PacketLike) => packet,
    },
  };
  const sessions = new SessionWrites({ outgoingUpdateNow: () => true, outgoingClearNow: () => undefined });
  const window = new OutgoingWindow(
    client as unknown as Client,
    options.limits ?? { maxInflight: 0, maxQueued: 0, maxQueuedBytes: 0 },
    { dropped: options.dropped ?? (() => {}) },
    new FlushScheduler(),
    sessions,
  );
  return { window, writes, drains, errors, client };
}

let counter = 0;
function live(payload: string): PacketLike {
  return { cmd: 'publish', topic: 't', payload: Buffer.from(payload), qos: 1, retain: false, dup: false, brokerId: 'b', brokerCounter: ++counter };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('OutgoingWindow writes', () => {
  it('the first message of a turn at once, and the rest of that turn together at its end', async () => {
    const { window, writes } = fakeClient();
    const done = vi.fn();
    window.deliver(live('<a>'), done);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toContain('<a>');
    // Written, and the socket took it: its sender goes on at once.
    expect(done).toHaveBeenCalledTimes(1);

    window.deliver(live('<b>'), done);
    window.deliver(live('<c>'), done);
    expect(writes).toHaveLength(1);
    // The others' senders go on once the turn's write is done.
    expect(done).toHaveBeenCalledTimes(1);

    await nextTurn();
    expect(writes).toHaveLength(2);
    expect(writes[1]).toMatch(/<b>.*<c>/s);
    expect(done).toHaveBeenCalledTimes(3);

    window.deliver(live('<d>'), done);
    expect(writes).toHaveLength(3);
    expect(writes[2]).toContain('<d>');
  });

  it('releases its senders when a write fills the socket, and keeps what follows queued until it drains', async () => {
    const { window, writes, drains } = fakeClient({ socketFull: true });
    const done = vi.fn();
    window.deliver(live('<a>'), done);
    window.deliver(live('<b>'), done);
    expect(writes).toHaveLength(1);
    await nextTurn();
    // Nothing more is written to a full socket, but nobody waits for it: this client's pace is its own.
    expect(writes).toHaveLength(1);
    expect(done).toHaveBeenCalledTimes(2);
    expect(drains).toHaveLength(1);

    drains[0]!(null);
    await nextTurn();
    expect(writes).toHaveLength(2);
    expect(writes[1]).toContain('<b>');
  });

  it('drops, and counts by which bound, what comes for a full socket past max_queued_messages or max_queued_bytes', async () => {
    const dropped: string[] = [];
    const byBytes = fakeClient({ socketFull: true, limits: { maxInflight: 0, maxQueued: 3, maxQueuedBytes: 8 }, dropped: (_id, limit) => dropped.push(limit) });
    const done = vi.fn();
    byBytes.window.deliver(live('<a>'), done);
    // The socket is full now: these wait (3 bytes each), then max_queued_bytes (8) bites at the third.
    for (const payload of ['<b>', '<c>', '<d>']) byBytes.window.deliver(live(payload), done);
    expect(dropped).toEqual(['bytes']);
    await nextTurn();
    expect(done).toHaveBeenCalledTimes(4);

    const byCount = fakeClient({ socketFull: true, limits: { maxInflight: 0, maxQueued: 2, maxQueuedBytes: 0 }, dropped: (_id, limit) => dropped.push(limit) });
    for (const payload of ['<a>', '<b>', '<c>', '<d>', '<e>']) byCount.window.deliver(live(payload), done);
    expect(dropped).toEqual(['bytes', 'messages', 'messages']);
  });

  it('of a routed message: not $ topics for a filter starting with a wildcard, and the retain flag cleared', async () => {
    const { window, writes } = fakeClient();
    const done = vi.fn();
    const wildcard = { deliverer: window, record: { qos: 1, func: () => {} }, blocksDollar: true };
    window.deliverLive({ ...live('<sys>'), topic: '$SYS/x' }, wildcard, done);
    expect(writes).toEqual([]);
    expect(done).toHaveBeenCalledTimes(1);

    window.deliverLive({ ...live('<kept>'), retain: true }, wildcard, done);
    expect(writes).toHaveLength(1);
    // PUBLISH, QoS 1, retain 0: 0x32.
    expect(writes[0]!.charCodeAt(0)).toBe(0x32);
    expect(writes[0]).toContain('<kept>');
  });
});

describe('OutgoingWindow, once the connection is gone', () => {
  it.each([
    ['closed', { closed: true }],
    ['neither connected nor connecting', { connected: false }],
  ])('sends nothing to a client %s, lets the senders go on, and tells the client, as aedes does', async (_name, state) => {
    const { window, writes, errors, client } = fakeClient();
    Object.assign(client, state);
    const done = vi.fn();
    window.deliver(live('<a>'), done);
    window.deliver(live('<b>'), done);
    await nextTurn();
    expect(writes).toEqual([]);
    expect(done).toHaveBeenCalledTimes(2);
    // One error for the turn's messages: aedes closes the client on it and reports clientError 'connection closed'.
    expect(errors.map((e) => e.message)).toEqual(['connection closed']);
  });
});
