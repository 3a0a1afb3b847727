import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { PacketLike } from '../../../../src/broker/engine/aedes-internals.js';
import { encodePublishes } from '../../../../src/broker/engine/wire/publish-encoder.js';

const mqttPacket = createRequire(import.meta.url)('mqtt-packet') as { generate(packet: object): Buffer };

function publish(overrides: Partial<PacketLike>): PacketLike {
  return { cmd: 'publish', topic: 'home/sensors/t', payload: Buffer.from('21.5'), qos: 0, retain: false, dup: false, ...overrides };
}

describe('encodePublishes', () => {
  const cases: [string, PacketLike][] = [
    ['QoS 0', publish({})],
    ['QoS 1 with identifier', publish({ qos: 1, messageId: 1 })],
    ['QoS 2, retain and dup', publish({ qos: 2, messageId: 65535, retain: true, dup: true })],
    ['an empty payload', publish({ qos: 1, messageId: 7, payload: Buffer.alloc(0) })],
    ['a multi-byte UTF-8 topic', publish({ topic: 'maison/salle de séjour/température/☃', qos: 1, messageId: 300 })],
    ['a string payload', publish({ payload: 'ON' as unknown as Buffer })],
  ];
  for (const size of [120, 121, 122, 16_370, 16_384, 2_097_152]) {
    cases.push([`a payload of ${size} bytes (remaining-length boundaries)`, publish({ qos: 1, messageId: 9, payload: Buffer.alloc(size, 0x61) })]);
  }

  for (const [name, packet] of cases) {
    it(`encodes ${name} exactly as mqtt-packet does`, () => {
      const expected = mqttPacket.generate({ ...packet, payload: Buffer.from(packet.payload) });
      expect(encodePublishes([packet]).equals(expected)).toBe(true);
    });
  }

  it('puts a batch back to back, in order', () => {
    const packets = cases.map(([, packet]) => packet);
    const expected = Buffer.concat(packets.map((packet) => mqttPacket.generate({ ...packet, payload: Buffer.from(packet.payload) })));
    expect(encodePublishes(packets).equals(expected)).toBe(true);
  });
});
