import mqttPacket, { type Packet } from 'mqtt-packet';
import { caseSeed, Prng } from './prng.js';

/**
 * The inputs of the protocol fuzzer: for a run seed and a case number, one hostile conversation, as the byte chunks
 * an attacker writes in order (over TCP each chunk is one write, over WebSocket one binary message). Valid packets
 * come from mqtt-packet, the encoder MQTT.js uses, and are then broken; what no encoder will produce (invalid
 * UTF-8, reserved bits, impossible lengths) is built by hand. Shared by test/broker/fuzz and bench/fuzz.
 */
export interface FuzzCase {
  index: number;
  seed: number;
  kind: FuzzKind;
  chunks: Buffer[];
}

export const FUZZ_KINDS = [
  'random-bytes',
  'random-after-connect',
  'bit-flips',
  'truncated',
  'bad-remaining-length',
  'connect-flags',
  'bad-utf8-client-id',
  'bad-utf8-topic',
  'bad-utf8-filter',
  'deep-topic',
  'max-length-topic',
  'subscribe-flood',
  'unknown-acks',
  'before-connect',
  'second-connect',
  'v5-bad-properties',
  'reserved-type-or-flags',
] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

/** The case `index` of the run `runSeed`. */
export function fuzzCase(runSeed: number, index: number): FuzzCase {
  const seed = caseSeed(runSeed, index);
  const rng = new Prng(seed);
  const kind = rng.pick(FUZZ_KINDS);
  const bytes = BUILDERS[kind](rng, `fz${seed.toString(16)}`);
  return { index, seed, kind, chunks: chunk(rng, bytes) };
}

// --- encoding helpers

const u16 = (value: number) => Buffer.from([(value >> 8) & 0xff, value & 0xff]);
const str = (bytes: Buffer | string) => {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return Buffer.concat([u16(b.length), b]);
};

function varint(value: number): Buffer {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Buffer.from(out);
}

/** A packet with the given first byte and body; the remaining length is the body's unless `announced` says otherwise. */
function raw(first: number, body: Buffer, announced = body.length): Buffer {
  return Buffer.concat([Buffer.from([first]), varint(announced), body]);
}

function generate(packet: Packet, protocolVersion: 4 | 5 = 4): Buffer {
  return mqttPacket.generate(packet, { protocolVersion });
}

function connect(clientId: string, protocolVersion: 4 | 5 = 4, clean = true): Buffer {
  return generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion, clean, clientId, keepalive: 30 } as Packet, protocolVersion);
}

/** A CONNECT body with every field chosen by the caller (for the ones mqtt-packet refuses to encode). */
function connectBody(fields: { name?: Buffer; level?: number; flags?: number; keepalive?: number; clientId?: Buffer; rest?: Buffer }): Buffer {
  return Buffer.concat([
    str(fields.name ?? Buffer.from('MQTT')),
    Buffer.from([fields.level ?? 4, fields.flags ?? 0x02]),
    u16(fields.keepalive ?? 30),
    str(fields.clientId ?? Buffer.from('fz')),
    fields.rest ?? Buffer.alloc(0),
  ]);
}

function publishBody(topic: Buffer, qos: number, payload: Buffer, messageId = 1): Buffer {
  return Buffer.concat([str(topic), qos > 0 ? u16(messageId) : Buffer.alloc(0), payload]);
}

/** Byte strings that are not UTF-8, or that MQTT forbids in a UTF-8 string (NUL, surrogates, non-characters). */
const BAD_UTF8 = [
  Buffer.from([0xc3, 0x28]), // a lead byte with no continuation
  Buffer.from([0xff]),
  Buffer.from([0x80]),
  Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate
  Buffer.from([0xc0, 0xaf]), // overlong '/'
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
  Buffer.from([0x00]), // U+0000, forbidden by MQTT
  Buffer.from([0xe2, 0x82]), // cut short
];

function badUtf8(rng: Prng, around: string): Buffer {
  const cut = rng.int(0, around.length);
  return Buffer.concat([Buffer.from(around.slice(0, cut)), rng.pick(BAD_UTF8), Buffer.from(around.slice(cut))]);
}

function validPacketAfterConnect(rng: Prng, id: string): Buffer {
  const topic = `fuzz/${id}/${rng.int(0, 9)}`;
  const messageId = rng.int(1, 65535);
  const choices: Packet[] = [
    { cmd: 'publish', topic, payload: rng.bytes(rng.int(0, 64)), qos: 0, retain: false, dup: false },
    { cmd: 'publish', topic, payload: rng.bytes(rng.int(0, 64)), qos: 1, messageId, retain: rng.chance(0.2), dup: false },
    { cmd: 'publish', topic, payload: rng.bytes(rng.int(0, 64)), qos: 2, messageId, retain: false, dup: false },
    { cmd: 'subscribe', messageId, subscriptions: [{ topic: rng.pick(['fuzz/#', `fuzz/${id}/+`, '#', '+/+']), qos: rng.int(0, 2) as 0 | 1 | 2 }] },
    { cmd: 'unsubscribe', messageId, unsubscriptions: [topic] },
    { cmd: 'pingreq' },
    { cmd: 'puback', messageId },
    { cmd: 'pubrel', messageId },
    { cmd: 'disconnect' },
  ];
  return generate(rng.pick(choices));
}

function validConversation(rng: Prng, id: string): Buffer {
  const parts = [connect(id)];
  for (let i = rng.int(1, 5); i > 0; i--) parts.push(validPacketAfterConnect(rng, id));
  return Buffer.concat(parts);
}

// --- the attacks

const BUILDERS: Record<FuzzKind, (rng: Prng, id: string) => Buffer> = {
  'random-bytes': (rng) => rng.bytes(rng.int(1, 2048)),

  'random-after-connect': (rng, id) => Buffer.concat([connect(id, rng.chance(0.3) ? 5 : 4), rng.bytes(rng.int(1, 2048))]),

  'bit-flips': (rng, id) => {
    const bytes = validConversation(rng, id);
    for (let i = rng.int(1, 8); i > 0; i--) bytes[rng.int(0, bytes.length - 1)]! ^= 1 << rng.int(0, 7);
    return bytes;
  },

  truncated: (rng, id) => {
    const bytes = validConversation(rng, id);
    return bytes.subarray(0, rng.int(1, bytes.length - 1));
  },

  'bad-remaining-length': (rng, id) => {
    const prefix = rng.chance(0.7) ? connect(id) : Buffer.alloc(0);
    const body = publishBody(Buffer.from(`fuzz/${id}`), 1, rng.bytes(rng.int(0, 32)));
    const variant = rng.int(0, 4);
    if (variant === 0) return Buffer.concat([prefix, raw(0x32, body, 268_435_455)]); // MQTT's maximum, then nothing
    if (variant === 1) return Buffer.concat([prefix, raw(0x32, body, body.length + rng.int(1, 100_000))]);
    if (variant === 2) return Buffer.concat([prefix, raw(0x32, body, rng.int(0, Math.max(0, body.length - 1)))]);
    if (variant === 3) return Buffer.concat([prefix, Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x7f]), body]); // 5-byte length
    return Buffer.concat([prefix, Buffer.from([rng.pick([0x10, 0x82, 0xc0]), 0x80, 0x80, 0x80, 0x80, 0x01])]);
  },

  'connect-flags': (rng, id) => {
    const clientId = Buffer.from(id);
    const variant = rng.int(0, 7);
    if (variant === 0) return raw(0x10, connectBody({ clientId, flags: 0x03 })); // reserved bit
    if (variant === 1) return raw(0x10, connectBody({ clientId, flags: 0x42, rest: str('secret') })); // password, no username
    if (variant === 2) return raw(0x10, connectBody({ clientId, flags: 0x1e, rest: Buffer.concat([str('w'), str('x')]) })); // will QoS 3
    if (variant === 3) return raw(0x10, connectBody({ clientId, flags: 0x22 })); // will retain without will flag
    if (variant === 4) return raw(0x10, connectBody({ clientId, name: Buffer.from(rng.pick(['MQIsdp', 'mqtt', 'HTTP', ''])) }));
    if (variant === 5) return raw(0x10, connectBody({ clientId, level: rng.pick([0, 1, 2, 6, 255]) }));
    if (variant === 6) return raw(0x10, connectBody({ clientId: Buffer.alloc(0), flags: 0x00 })); // empty id, persistent session
    return raw(0x10, Buffer.alloc(0)); // no body at all
  },

  'bad-utf8-client-id': (rng, id) => raw(0x10, connectBody({ clientId: badUtf8(rng, id) })),

  'bad-utf8-topic': (rng, id) => {
    const qos = rng.int(0, 1);
    const topic = rng.chance(0.2) ? Buffer.from(`fuzz/${id}/${rng.pick(['+', '#'])}`) : badUtf8(rng, `fuzz/${id}/t`);
    return Buffer.concat([connect(id), raw(0x30 | (qos << 1) | (rng.chance(0.3) ? 1 : 0), publishBody(topic, qos, Buffer.from('x')))]);
  },

  'bad-utf8-filter': (rng, id) => {
    const filter = rng.chance(0.3) ? Buffer.from(rng.pick(['a/#/b', 'a+/b', '#/x', 'a/b#', ''])) : badUtf8(rng, `fuzz/${id}/#`);
    return Buffer.concat([connect(id), raw(0x82, Buffer.concat([u16(rng.int(1, 65535)), str(filter), Buffer.from([rng.int(0, 2)])]))]);
  },

  'deep-topic': (rng, id) => {
    const levels = rng.int(1000, 30_000);
    const deep = Buffer.from(`${'a/'.repeat(levels)}${id}`.slice(0, 65535));
    const packet = rng.chance(0.5)
      ? raw(0x32, publishBody(deep, 1, Buffer.from('deep'), rng.int(1, 65535)))
      : raw(0x82, Buffer.concat([u16(1), str(Buffer.from(`${deep.toString().slice(0, 65533)}/#`.slice(-65535))), Buffer.from([1])]));
    return Buffer.concat([connect(id), packet]);
  },

  'max-length-topic': (rng, id) => {
    // 'é' fills the topic with 2-byte sequences, and the odd length cuts the last one: invalid UTF-8 at the limit.
    const topic = Buffer.alloc(65535, rng.pick(['x', '/', 'é']));
    topic.write(`fuzz/${id}/`);
    return Buffer.concat([connect(id), raw(0x30 | (rng.chance(0.5) ? 1 : 0), publishBody(topic, 0, Buffer.from('long')))]);
  },

  'subscribe-flood': (rng, id) => {
    const parts = [connect(id)];
    if (rng.chance(0.5)) {
      // one SUBSCRIBE with thousands of filters
      const filters: Buffer[] = [u16(rng.int(1, 65535))];
      for (let i = rng.int(500, 5000); i > 0; i--) filters.push(str(`fuzz/${id}/${i}/+`), Buffer.from([rng.int(0, 2)]));
      parts.push(raw(0x82, Buffer.concat(filters)));
    } else {
      // hundreds of SUBSCRIBE and UNSUBSCRIBE packets in one write
      for (let i = rng.int(100, 1000); i > 0; i--) {
        const filter = `fuzz/${id}/${rng.int(0, 50)}/#`;
        parts.push(generate(rng.chance(0.7) ? { cmd: 'subscribe', messageId: rng.int(1, 65535), subscriptions: [{ topic: filter, qos: 1 }] } : { cmd: 'unsubscribe', messageId: rng.int(1, 65535), unsubscriptions: [filter] }));
      }
    }
    return Buffer.concat(parts);
  },

  'unknown-acks': (rng, id) => {
    const parts = [connect(id, 4, rng.chance(0.5))];
    for (let i = rng.int(10, 500); i > 0; i--) {
      const type = rng.pick([0x40, 0x50, 0x62, 0x70]); // PUBACK, PUBREC, PUBREL, PUBCOMP
      parts.push(raw(type, u16(rng.int(0, 65535))));
    }
    return Buffer.concat(parts);
  },

  'before-connect': (rng, id) => Buffer.concat([validPacketAfterConnect(rng, id), rng.chance(0.5) ? connect(id) : Buffer.alloc(0)]),

  'second-connect': (rng, id) => Buffer.concat([connect(id, rng.chance(0.3) ? 5 : 4), connect(rng.chance(0.5) ? id : `${id}b`, rng.chance(0.3) ? 5 : 4), validPacketAfterConnect(rng, id)]),

  'v5-bad-properties': (rng, id) => {
    const variant = rng.int(0, 4);
    const property = rng.pick([
      Buffer.from([0x00]), // no such property
      Buffer.from([0xff, 0x01]),
      Buffer.from([0x11, 0x00, 0x00, 0x00, 0x10, 0x11, 0x00, 0x00, 0x00, 0x10]), // session expiry twice
      Buffer.from([0x26, 0x00, 0x05, 0x61]), // user property cut short
      Buffer.from([0x21, 0x00, 0x00]), // receive maximum 0
      Buffer.from([0x27, 0x00, 0x00, 0x00, 0x00]), // maximum packet size 0
      rng.bytes(rng.int(1, 40)),
    ]);
    const properties = (announced = property.length) => Buffer.concat([varint(announced), property]);
    const connectV5 = (props: Buffer) => raw(0x10, Buffer.concat([str('MQTT'), Buffer.from([5, 0x02]), u16(30), props, str(id)]));
    if (variant === 0) return connectV5(properties());
    if (variant === 1) return connectV5(properties(property.length + rng.int(1, 1000))); // longer than the packet
    if (variant === 2) return connectV5(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]), property])); // bad varint
    const topic = Buffer.from(`fuzz/${id}/v5`);
    if (variant === 3) {
      const publishProperties = rng.pick([
        Buffer.from([0x23, 0x00, 0x00]), // topic alias 0
        Buffer.from([0x23, 0xff, 0xff]), // topic alias beyond what the broker allowed
        Buffer.from([0x0b, 0x01]), // subscription identifier from a client
        Buffer.from([0x01, 0x07]), // payload format indicator 7
        property,
      ]);
      const body = Buffer.concat([str(rng.chance(0.3) ? Buffer.alloc(0) : topic), u16(1), varint(publishProperties.length), publishProperties, Buffer.from('v5')]);
      return Buffer.concat([connect(id, 5), raw(0x32, body)]);
    }
    const body = Buffer.concat([u16(1), varint(property.length), property, str(`fuzz/${id}/#`), Buffer.from([rng.int(0, 255)])]); // options byte too
    return Buffer.concat([connect(id, 5), raw(0x82, body)]);
  },

  'reserved-type-or-flags': (rng, id) => {
    const prefix = rng.chance(0.7) ? connect(id) : Buffer.alloc(0);
    const variant = rng.int(0, 4);
    if (variant === 0) return Buffer.concat([prefix, raw(rng.pick([0x00, 0xf0]), rng.bytes(rng.int(0, 16)))]);
    if (variant === 1) return Buffer.concat([prefix, raw(0x36, publishBody(Buffer.from(`fuzz/${id}`), 3, Buffer.from('q3')))]); // QoS 3
    if (variant === 2) return Buffer.concat([prefix, raw(0x80, Buffer.concat([u16(1), str(`fuzz/${id}`), Buffer.from([0])]))]); // SUBSCRIBE flags 0
    if (variant === 3) return Buffer.concat([prefix, raw(0x82, u16(1))]); // SUBSCRIBE without a filter
    return Buffer.concat([prefix, raw(rng.pick([0x20, 0x90, 0xb0, 0xd0]), rng.bytes(rng.int(0, 8)))]); // server-to-client packets
  },
};

/** Cuts the bytes into 1 to 8 writes at random places: a parser must not depend on how the bytes arrive. */
function chunk(rng: Prng, bytes: Buffer): Buffer[] {
  const cuts = new Set<number>();
  for (let i = rng.int(0, Math.min(7, bytes.length - 1)); i > 0; i--) cuts.add(rng.int(1, bytes.length - 1));
  const sorted = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  const chunks: Buffer[] = [];
  for (let i = 1; i < sorted.length; i++) chunks.push(bytes.subarray(sorted[i - 1]!, sorted[i]!));
  return chunks;
}
