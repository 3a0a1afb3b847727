/**
 * The cost of one journal record for a queued 100-byte QoS 1 message: the compact codec against v8.serialize of the
 * same fields (what the journal wrote before). A micro-benchmark, one process, no broker:
 *   npx tsx bench/broker/journal-record.ts
 */
import { serialize } from 'node:v8';
import { encodeStoredPacket, type StoredPacket } from '../../src/broker/engine/persistence/packet-codec.js';

const packet: StoredPacket = {
  cmd: 'publish',
  topic: 'bench/p03',
  payload: Buffer.alloc(100, 0x61),
  qos: 1,
  retain: false,
  dup: false,
  messageId: 513,
  brokerId: 'bench-broker',
  brokerCounter: 123_456,
};
const FIELDS = ['cmd', 'topic', 'payload', 'qos', 'retain', 'dup', 'messageId', 'brokerId', 'brokerCounter'] as const;

function v8Record(): Buffer {
  const fields: Record<string, unknown> = {};
  for (const field of FIELDS) fields[field] = packet[field];
  return serialize(fields);
}

const RECORDS = 200_000;
for (const [name, make] of [
  ['v8.serialize of the fields', v8Record],
  ['encodeStoredPacket', () => encodeStoredPacket(packet)],
] as const) {
  for (let i = 0; i < RECORDS / 10; i++) make();
  const started = process.hrtime.bigint();
  for (let i = 0; i < RECORDS; i++) make();
  const nsPerRecord = Number(process.hrtime.bigint() - started) / RECORDS;
  console.log(`${name.padEnd(28)} ${(nsPerRecord / 1000).toFixed(2)} µs per record, ${make().length} bytes`);
}
