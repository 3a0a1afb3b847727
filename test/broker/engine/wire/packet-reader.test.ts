import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { PacketReader, type MqttPacketParser } from '../../../../src/broker/engine/wire/packet-reader.js';
import { PendingBudget } from '../../../../src/broker/engine/wire/pending-budget.js';

const mqttPacket = createRequire(import.meta.url)('mqtt-packet') as {
  parser(options?: object): MqttPacketParser;
  generate(packet: object, options?: object): Buffer;
};

const frames: Buffer[] = [
  { cmd: 'publish', topic: 'home/sensors/t', payload: Buffer.from('{"t":21.5}'), qos: 0, retain: false, dup: false },
  { cmd: 'publish', topic: 'maison/séjour/☃', payload: Buffer.from('x'), qos: 1, messageId: 42, retain: true, dup: false },
  { cmd: 'publish', topic: 'q2', payload: Buffer.alloc(20_000, 0x61), qos: 2, messageId: 65535, retain: false, dup: true },
  { cmd: 'publish', topic: 'empty', payload: Buffer.alloc(0), qos: 1, messageId: 1, retain: false, dup: false },
  { cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'a/#', qos: 1 }] },
  { cmd: 'puback', messageId: 42 },
  { cmd: 'pubrec', messageId: 43 },
  { cmd: 'pubrel', messageId: 43 },
  { cmd: 'pubcomp', messageId: 43 },
  { cmd: 'pingreq' },
  { cmd: 'unsubscribe', messageId: 8, unsubscriptions: ['a/#'] },
  { cmd: 'disconnect' },
].map((packet) => mqttPacket.generate(packet));
const stream = Buffer.concat(frames);

/** A parser after CONNECT, as aedes has it when the reader is installed. */
function connectedParser(): MqttPacketParser {
  const parser = mqttPacket.parser();
  parser.parse(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c', clean: true, keepalive: 60 }));
  return parser;
}

function run(parser: MqttPacketParser, chunks: Buffer[]): { packets: object[]; errors: string[] } {
  const packets: object[] = [];
  const errors: string[] = [];
  parser.on('packet', (packet: object) => packets.push({ ...packet }));
  parser.on('error', (error: Error) => errors.push(error.message));
  for (const chunk of chunks) parser.parse(chunk);
  return { packets, errors };
}

function split(buffer: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  for (let i = 0; offset < buffer.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(buffer.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

const withReader = (): MqttPacketParser => {
  const parser = connectedParser();
  PacketReader.install(parser);
  return parser;
};

describe('PacketReader', () => {
  const splits: [string, number[]][] = [
    ['one chunk', [stream.length]],
    ['byte by byte', [1]],
    ['odd chunks', [3, 7, 1, 250, 2]],
    ['chunks cutting the remaining length', [2, 1, 5]],
  ];
  for (const [name, sizes] of splits) {
    it(`emits what mqtt-packet emits, in ${name}`, () => {
      const expected = run(connectedParser(), [stream]);
      const actual = run(withReader(), split(stream, sizes));
      expect(actual.errors).toEqual([]);
      expect(actual.packets).toEqual(expected.packets);
      expect(actual.packets).toHaveLength(frames.length);
    });
  }

  it('joins the chunks of a large packet once, when it is complete', () => {
    const big = mqttPacket.generate({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(3 * 1024 * 1024, 0x62), qos: 1, messageId: 3 });
    const chunks = split(Buffer.concat([big, frames[5]!]), [65_536]);
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      const { packets, errors } = run(withReader(), chunks);
      expect(errors).toEqual([]);
      expect(packets.map((p) => (p as { cmd: string }).cmd)).toEqual(['publish', 'puback']);
      expect((packets[0] as { payload: Buffer }).payload.equals(Buffer.alloc(3 * 1024 * 1024, 0x62))).toBe(true);
      expect(concat).toHaveBeenCalledTimes(1);
    } finally {
      concat.mockRestore();
    }
  });

  it('takes over only once mqtt-packet holds no partial packet', () => {
    const parser = connectedParser();
    const half = Math.floor(frames[0]!.length / 2);
    parser.parse(frames[0]!.subarray(0, half)); // mqtt-packet now holds half a PUBLISH
    PacketReader.install(parser);
    const { packets, errors } = run(parser, [Buffer.concat([frames[0]!.subarray(half), frames[1]!, frames[5]!])]);
    expect(errors).toEqual([]);
    expect(packets.map((p) => (p as { cmd: string }).cmd)).toEqual(['publish', 'publish', 'puback']);
  });

  it('copies a retained payload out of the read buffer, and keeps others as views', () => {
    const { packets } = run(withReader(), [stream]);
    const [plain, retained] = packets as { payload: Buffer }[];
    expect(plain!.payload.buffer).toBe(stream.buffer);
    expect(retained!.payload.buffer).not.toBe(stream.buffer);
  });

  const malformed: [string, Buffer, string, 'same' | 'stricter'][] = [
    ['QoS 3', Buffer.from([0x36, 0x05, 0x00, 0x01, 0x74, 0x00, 0x01]), 'Packet must not have both QoS bits set to 1', 'same'],
    ['a PUBACK with flags', Buffer.from([0x42, 0x02, 0x00, 0x01]), 'Invalid header flag bits, must be 0x0 for puback packet', 'same'],
    ['a PUBREL without its flags', Buffer.from([0x60, 0x02, 0x00, 0x01]), 'Invalid header flag bits, must be 0x2 for pubrel packet', 'same'],
    ['a topic longer than the packet', Buffer.from([0x30, 0x03, 0x00, 0x09, 0x74]), 'Cannot parse topic', 'same'],
    ['a QoS 1 PUBLISH without identifier', Buffer.from([0x32, 0x03, 0x00, 0x01, 0x74]), 'Cannot parse messageId', 'stricter'],
    ['a PUBACK without identifier', Buffer.from([0x40, 0x00]), 'Cannot parse messageId', 'stricter'],
    ['a remaining length of five bytes', Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 'Invalid variable byte integer', 'same'],
  ];
  for (const [name, bytes, message, compared] of malformed) {
    it(`reports ${name}${compared === 'same' ? ' as mqtt-packet does' : ''}, and stops`, () => {
      // Stricter: mqtt-packet reads a missing identifier from the bytes of the next packet (or makes it -1).
      if (compared === 'same') expect(run(connectedParser(), [bytes]).errors[0]).toBe(message);
      const actual = run(withReader(), [bytes, frames[5]!]);
      expect(actual.errors).toEqual([message]);
      expect(actual.packets).toEqual([]);
    });
  }

  it('ends the read for its taker even when handling a packet threw', () => {
    const parser = connectedParser();
    const ended = vi.fn();
    PacketReader.install(parser, {
      take: () => {
        throw new Error('handler failed');
      },
      chunkDone: ended,
    });
    expect(() => parser.parse(frames[0]!)).toThrow('handler failed');
    expect(ended).toHaveBeenCalledTimes(1);
  });

  it('frames the packets of an MQTT 5 connection and leaves their decoding (properties) to mqtt-packet', () => {
    const v5 = { protocolVersion: 5 };
    const parser = mqttPacket.parser(v5);
    PacketReader.install(parser);
    const publish = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.from('p'), qos: 1, messageId: 3, retain: false, dup: false, properties: { contentType: 'text/plain' } }, v5);
    const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'c', clean: true, keepalive: 60 });
    const { packets, errors } = run(parser, split(Buffer.concat([connect, publish]), [3]));
    expect(errors).toEqual([]);
    expect(packets[1]).toMatchObject({ cmd: 'publish', topic: 't', messageId: 3, properties: { contentType: 'text/plain' } });
  });
});

describe('PacketReader limits', () => {
  function limited(maxPayloadBytes: number, maxPacketBytes = 0) {
    const parser = connectedParser();
    const oversized = vi.fn();
    PacketReader.install(parser, { take: () => false, chunkDone: () => {}, maxPayloadBytes, maxPacketBytes, oversized });
    return { parser, oversized };
  }
  const publishOf = (payloadBytes: number, topic = 'a/b', qos = 1) =>
    mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.alloc(payloadBytes, 0x61), qos, messageId: qos ? 1 : undefined, retain: false, dup: false });

  it('takes a PUBLISH whose payload is exactly the limit, whatever its topic', () => {
    const { parser, oversized } = limited(1024);
    const { packets } = run(parser, [publishOf(1024, 'x'.repeat(5000))]);
    expect(oversized).not.toHaveBeenCalled();
    expect(packets).toHaveLength(1);
  });

  it('refuses a PUBLISH announcing one byte more as soon as its header and topic length are read', () => {
    const { parser, oversized } = limited(1024);
    const whole = publishOf(1025, 'a/b', 0);
    // Only the first 6 bytes arrive: fixed header and topic length; the rest would never be buffered.
    const { packets } = run(parser, [whole.subarray(0, 6), whole.subarray(6)]);
    expect(oversized).toHaveBeenCalledExactlyOnceWith(whole.length - 3, false);
    expect(packets).toEqual([]);
  });

  it('refuses a PUBLISH announcing 200 MB from its first bytes', () => {
    const { parser, oversized } = limited(1024);
    const header = Buffer.from([0x32, 0x80, 0x84, 0xaf, 0x5f, 0x00, 0x03, 0x61, 0x2f, 0x62]);
    run(parser, [header]);
    expect(oversized).toHaveBeenCalledExactlyOnceWith(200_000_000, false);
  });

  it('refuses any other packet over maxPacketBytes', () => {
    const { parser, oversized } = limited(1024, 64);
    const subscribe = mqttPacket.generate({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'x'.repeat(100), qos: 1 }] });
    const { packets } = run(parser, [subscribe]);
    expect(oversized).toHaveBeenCalledOnce();
    expect(packets).toEqual([]);
  });
});

describe('PacketReader before CONNECT', () => {
  const connectOf = (willBytes: number) =>
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'c',
      clean: true,
      keepalive: 60,
      will: { topic: 'w', payload: Buffer.alloc(willBytes, 0x61), qos: 0, retain: false },
    });

  function fresh(firstPacketBytes: number) {
    const parser = mqttPacket.parser();
    const oversized = vi.fn();
    PacketReader.install(parser, { take: () => false, chunkDone: () => {}, maxPayloadBytes: 1 << 20, maxPacketBytes: 1 << 20, firstPacketBytes, oversized });
    return { parser, oversized };
  }

  it('holds the first packet to firstPacketBytes, from its fixed header', () => {
    const { parser, oversized } = fresh(1024);
    const connect = connectOf(2000);
    const { packets } = run(parser, [connect.subarray(0, 4)]);
    expect(oversized).toHaveBeenCalledExactlyOnceWith(connect.length - 3, true);
    expect(packets).toEqual([]);
  });

  it('takes a first packet within it, and holds the next ones only to the ordinary limits', () => {
    const { parser, oversized } = fresh(1024);
    const publish = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(5000), qos: 0, retain: false, dup: false });
    const { packets } = run(parser, [connectOf(900), publish]);
    expect(oversized).not.toHaveBeenCalled();
    expect(packets.map((p) => (p as { cmd: string }).cmd)).toEqual(['connect', 'publish']);
  });
});

describe('PendingBudget', () => {
  function reader(budget: PendingBudget) {
    const parser = connectedParser();
    const overBudget = vi.fn();
    const installed = PacketReader.install(parser, { take: () => false, chunkDone: () => {}, maxPayloadBytes: 0, maxPacketBytes: 0, firstPacketBytes: 0, oversized: vi.fn(), overBudget }, budget);
    parser.on('error', () => undefined);
    return { parser, overBudget, installed };
  }
  const partial = (bytes: number) => {
    const whole = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(100_000), qos: 0, retain: false, dup: false });
    return whole.subarray(0, bytes);
  };

  it('counts what every connection holds of an incomplete packet and closes the one holding most past the limit', () => {
    const budget = new PendingBudget(10_000);
    const a = reader(budget);
    const b = reader(budget);
    a.parser.parse(partial(4_000));
    b.parser.parse(partial(3_000));
    expect(budget.bytes).toBe(7_000);
    b.parser.parse(Buffer.alloc(4_000));
    // 11,000 held: b, now holding 7,000, goes.
    expect(b.overBudget).toHaveBeenCalledExactlyOnceWith(7_000);
    expect(a.overBudget).not.toHaveBeenCalled();
    expect(budget.bytes).toBe(4_000);
  });

  it('gives back what a closed connection held, and what a completed packet held', () => {
    const budget = new PendingBudget(0);
    const a = reader(budget);
    const whole = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(5_000), qos: 0, retain: false, dup: false });
    a.parser.parse(whole.subarray(0, 2_000));
    expect(budget.bytes).toBe(2_000);
    a.parser.parse(whole.subarray(2_000));
    expect(budget.bytes).toBe(0);
    a.parser.parse(whole.subarray(0, 3_000));
    a.installed.discard();
    expect(budget.bytes).toBe(0);
  });
});
