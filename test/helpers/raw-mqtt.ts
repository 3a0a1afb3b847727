import { connect, type Socket } from 'node:net';
import { remainingLengthSize, writeRemainingLength } from '../../src/broker/engine/wire/remaining-length.js';

/** One MQTT 3.1.1 control packet as it came off the wire. */
export interface RawPacket {
  type: number;
  flags: number;
  body: Buffer;
}

/**
 * A bare MQTT 3.1.1 client over a socket, for the exchanges MQTT.js will not do on purpose: leaving a QoS 2 flow
 * half-way, or sending what a well-behaved client never sends.
 */
export class RawMqttClient {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly packets: RawPacket[] = [];
  private waiting: (() => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
  }

  static async open(port: number): Promise<RawMqttClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawMqttClient(socket);
  }

  send(type: number, flags: number, body: Buffer): void {
    this.socket.write(Buffer.concat([Buffer.from([(type << 4) | flags]), remainingLength(body.length), body]));
  }

  connectPacket(clientId: string, clean: boolean): void {
    const id = Buffer.from(clientId);
    const body = Buffer.concat([
      Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, clean ? 0x02 : 0x00, 0x00, 0x3c]),
      u16(id.length),
      id,
    ]);
    this.send(1, 0, body);
  }

  subscribePacket(messageId: number, filter: string, qos: number): void {
    const topic = Buffer.from(filter);
    this.send(8, 2, Buffer.concat([u16(messageId), u16(topic.length), topic, Buffer.from([qos])]));
  }

  /** The next packet of `type`, skipping others; rejects after `timeoutMs`. */
  async next(type: number, timeoutMs = 15_000): Promise<RawPacket> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.packets.findIndex((p) => p.type === type);
      if (index >= 0) return this.packets.splice(index, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.destroyed) throw new Error(`no packet of type ${type} (socket ${this.socket.destroyed ? 'closed' : 'open'})`);
      await new Promise<void>((resolve) => {
        // One listener at a time: left on the socket, every wait of a long collect() added another.
        const wake = () => {
          clearTimeout(timer);
          this.socket.off('close', wake);
          this.waiting = undefined;
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiting = wake;
        this.socket.once('close', wake);
      });
    }
  }

  /** Every packet of `type` that arrives until none has come for `quietMs`. */
  async collect(type: number, quietMs = 300): Promise<RawPacket[]> {
    const found: RawPacket[] = [];
    for (;;) {
      try {
        found.push(await this.next(type, quietMs));
      } catch {
        return found;
      }
    }
  }

  /** PUBACK (or PUBREC / PUBREL / PUBCOMP with their own type and flags) for `messageId`. */
  ack(type: number, messageId: number): void {
    this.send(type, type === PACKET.PUBREL ? 2 : 0, u16(messageId));
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(): void {
    this.buffer = takeFrames(this.buffer, (packet) => {
      this.packets.push(packet);
      this.waiting?.();
    });
  }
}

export const PACKET = { CONNACK: 2, PUBLISH: 3, PUBACK: 4, PUBREC: 5, PUBREL: 6, PUBCOMP: 7, SUBACK: 9 } as const;

/** Hands each whole packet at the front of `buffer` to `onPacket`; returns what is left (a packet not yet complete). */
export function takeFrames(buffer: Buffer, onPacket: (packet: RawPacket) => void): Buffer {
  for (;;) {
    if (buffer.length < 2) return buffer;
    let length = 0;
    let multiplier = 1;
    let offset = 1;
    let byte: number;
    do {
      if (offset >= buffer.length) return buffer;
      byte = buffer[offset++]!;
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
    } while (byte & 0x80);
    if (buffer.length < offset + length) return buffer;
    const first = buffer[0]!;
    onPacket({ type: first >> 4, flags: first & 0x0f, body: buffer.subarray(offset, offset + length) });
    buffer = buffer.subarray(offset + length);
  }
}

export function u16(value: number): Buffer {
  return Buffer.from([value >> 8, value & 0xff]);
}

/** MQTT's variable-length "remaining length" of a fixed header. */
export function remainingLength(length: number): Buffer {
  const out = Buffer.alloc(remainingLengthSize(length));
  writeRemainingLength(out, 0, length);
  return out;
}

/** Topic and payload of a PUBLISH, and its QoS from the fixed header's flags. */
export function decodePublish(packet: RawPacket): { topic: string; payload: string; qos: number; messageId: number | undefined } {
  const qos = (packet.flags >> 1) & 0x03;
  const topicLength = packet.body.readUInt16BE(0);
  const topic = packet.body.toString('utf8', 2, 2 + topicLength);
  const payloadStart = 2 + topicLength + (qos > 0 ? 2 : 0);
  return { topic, payload: packet.body.toString('utf8', payloadStart), qos, messageId: qos > 0 ? packet.body.readUInt16BE(2 + topicLength) : undefined };
}

/** The packet identifier of a QoS > 0 PUBLISH body. */
export function publishMessageId(body: Buffer): number {
  const topicLength = body.readUInt16BE(0);
  return body.readUInt16BE(2 + topicLength);
}
