import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { decodeStoredPacket, encodeStoredPacket, type StoredPacket } from '../../../../src/broker/engine/persistence/packet-codec.js';

const publish: StoredPacket = {
  cmd: 'publish',
  topic: 'home/salle de séjour/température',
  payload: Buffer.from('{"t":21.5}'),
  qos: 1,
  retain: false,
  dup: false,
  messageId: 513,
  brokerId: 'pi-edge-gateway',
  brokerCounter: 2 ** 40 + 3,
};

describe('stored packet codec', () => {
  const cases: [string, StoredPacket][] = [
    ['a sent QoS 1 PUBLISH', publish],
    ['a QoS 2 PUBLISH not sent yet (no identifier), retained and dup', { ...publish, qos: 2, retain: true, dup: true, messageId: undefined }],
    ['an empty payload', { ...publish, payload: Buffer.alloc(0) }],
    ['a PUBREL that replaced its PUBLISH', { cmd: 'pubrel', messageId: 65535, brokerId: 'b', brokerCounter: 9 }],
    ['a PUBREL without broker key', { cmd: 'pubrel', messageId: 1 }],
  ];
  for (const [name, packet] of cases) {
    it(`round-trips ${name} in the compact form`, () => {
      const blob = encodeStoredPacket(packet);
      expect(blob[0]).toBe(0x01);
      const expected = Object.fromEntries(Object.entries(packet).filter(([, v]) => v !== undefined));
      expect(decodeStoredPacket(blob)).toEqual(expected);
    });
  }

  it('keeps only what is needed after a restart: not the publisher id or the no-local flag', () => {
    const decoded = decodeStoredPacket(encodeStoredPacket({ ...publish, clientId: 'sensor-1', nl: false }));
    expect(decoded).not.toHaveProperty('clientId');
    expect(decoded).not.toHaveProperty('nl');
  });

  it('falls back to v8 serialization for MQTT 5 fields', () => {
    const packet = { ...publish, properties: { contentType: 'application/json' }, messageExpiry: 1_800_000_000_000 };
    const blob = encodeStoredPacket(packet);
    expect(blob[0]).not.toBe(0x01);
    expect(decodeStoredPacket(blob)).toEqual(packet);
  });

  it('reads the v8.serialize records of journals written before the compact form', () => {
    const legacy = serialize({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, brokerId: 'b', brokerCounter: 4 });
    expect(decodeStoredPacket(legacy)).toMatchObject({ topic: 't', payload: Buffer.from('x'), brokerCounter: 4 });
  });

  it('copies the payload out of the record', () => {
    const blob = encodeStoredPacket(publish);
    const decoded = decodeStoredPacket(blob);
    blob.fill(0);
    expect(decoded.payload).toEqual(publish.payload);
  });
});
