import type { PacketLike } from '../aedes-internals.js';
import type { Fifo } from '../fifo.js';
import { remainingLengthSize, writeRemainingLength } from './remaining-length.js';

/**
 * MQTT 3.1.1 PUBLISH packets (the first `count`) encoded back to back into one Buffer: one allocation and one socket
 * write for a whole batch. mqtt-packet's writeToStream writes each packet as five or six separate chunks and schedules an uncork per
 * packet, which made writing the largest cost of a delivery. MQTT 5 properties are not encoded: aedes 1.2 speaks
 * 3.1 / 3.1.1 only.
 */
export function encodePublishes(packets: readonly PacketLike[] | Fifo<PacketLike>, count = 'length' in packets ? packets.length : packets.size): Buffer {
  let total = 0;
  for (let i = 0; i < count; i++) {
    const packet = packets.at(i)!;
    const remaining = 2 + Buffer.byteLength(packet.topic) + (packet.qos > 0 ? 2 : 0) + payloadOf(packet).length;
    total += 1 + remainingLengthSize(remaining) + remaining;
  }
  const buffer = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const packet = packets.at(i)!;
    const payload = payloadOf(packet);
    const topicLength = Buffer.byteLength(packet.topic);
    const remaining = 2 + topicLength + (packet.qos > 0 ? 2 : 0) + payload.length;
    buffer[offset++] = 0x30 | (packet.dup ? 0x08 : 0) | (packet.qos << 1) | (packet.retain ? 0x01 : 0);
    offset = writeRemainingLength(buffer, offset, remaining);
    offset = buffer.writeUInt16BE(topicLength, offset);
    offset += buffer.write(packet.topic, offset);
    if (packet.qos > 0) offset = buffer.writeUInt16BE(packet.messageId!, offset);
    offset += payload.copy(buffer, offset);
  }
  return buffer;
}

function payloadOf(packet: PacketLike): Buffer {
  const payload = packet.payload as Buffer | string;
  return typeof payload === 'string' ? Buffer.from(payload) : payload;
}
