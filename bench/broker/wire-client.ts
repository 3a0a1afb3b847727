import net, { type Socket } from 'node:net';
import { readRemainingLength, remainingLengthSize, writeRemainingLength, type FrameBounds } from '../../src/broker/engine/wire/remaining-length.js';
import { remainingLength } from '../../test/helpers/raw-mqtt.js';
import type { BenchClient, ClientOptions, MessageListener } from './client.js';

/**
 * A minimal MQTT 3.1.1 client written straight onto a socket: hand-rolled PUBLISH encoding and framing, one
 * socket write per event-loop turn, PUBACKs answered in bulk. It exists so that the load generator costs a fraction
 * of what it measures (MQTT.js spends several µs per message on its stores and streams; see the README).
 */
export class WireClient implements BenchClient {
  onMessage: MessageListener = () => {};
  onAck: () => void = () => {};
  inflight = 0;
  private readonly socket: Socket;
  private pending: Buffer[] = [];
  private flushScheduled = false;
  private rest: Buffer | undefined;
  private readonly bounds: FrameBounds = { bodyStart: 0, bodyLength: 0 };
  private nextId = 1;
  private subacks: (() => void)[] = [];
  private connack: ((code: number) => void) | undefined;
  private closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static connect(port: number, options: ClientOptions): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      const client = new WireClient(socket);
      const fail = (error: Error) => reject(error);
      socket.once('error', fail);
      socket.once('connect', () => {
        client.connack = (code) => {
          socket.off('error', fail);
          if (code === 0) resolve(client);
          else reject(new Error(`CONNACK ${code}`));
        };
        socket.write(encodeConnect(options.clientId, options.clean, options.keepalive ?? 60));
      });
    });
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  publish(topic: Buffer, payload: Buffer, qos: 0 | 1, retain = false): void {
    let id = 0;
    if (qos === 1) {
      id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      this.inflight++;
    }
    this.queue(encodePublish(topic, payload, qos, retain, id));
  }

  subscribe(filter: string, qos: 0 | 1): Promise<void> {
    return new Promise((resolve) => {
      this.subacks.push(resolve);
      const topic = Buffer.from(filter);
      const body = Buffer.alloc(2 + 2 + topic.length + 1);
      body.writeUInt16BE(this.nextId++, 0);
      body.writeUInt16BE(topic.length, 2);
      topic.copy(body, 4);
      body[4 + topic.length] = qos;
      this.queue(Buffer.concat([Buffer.from([0x82]), remainingLength(body.length), body]));
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end(Buffer.from([0xe0, 0x00]));
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private queue(packet: Buffer): void {
    this.pending.push(packet);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const pending = this.pending;
    if (pending.length === 0 || this.closed) return;
    this.pending = [];
    this.socket.write(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
  }

  private read(chunk: Buffer): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = undefined;
    let offset = 0;
    let acks: Buffer | undefined;
    let ackCount = 0;
    const bounds = this.bounds;
    while (buf.length - offset >= 2) {
      const header = buf[offset]!;
      if (readRemainingLength(buf, offset, bounds) !== 0) break;
      const pos = bounds.bodyStart;
      const length = bounds.bodyLength;
      if (buf.length - pos < length) break;
      const end = pos + length;
      switch (header >> 4) {
        case 3: {
          const qos = (header >> 1) & 3;
          const topicLength = buf.readUInt16BE(pos);
          const topic = buf.toString('latin1', pos + 2, pos + 2 + topicLength);
          let payloadStart = pos + 2 + topicLength;
          if (qos > 0) {
            const id = buf.readUInt16BE(payloadStart);
            payloadStart += 2;
            acks ??= Buffer.allocUnsafe(4 * 256);
            if (ackCount * 4 === acks.length) {
              const bigger = Buffer.allocUnsafe(acks.length * 2);
              acks.copy(bigger);
              acks = bigger;
            }
            const at = ackCount++ * 4;
            acks[at] = 0x40;
            acks[at + 1] = 2;
            acks.writeUInt16BE(id, at + 2);
          }
          this.onMessage(topic, buf.subarray(payloadStart, end), (header & 1) === 1);
          break;
        }
        case 4:
          this.inflight--;
          this.onAck();
          break;
        case 2:
          this.connack?.(buf[pos + 1]!);
          this.connack = undefined;
          break;
        case 9:
          this.subacks.shift()?.();
          break;
        default:
          break;
      }
      offset = end;
    }
    if (offset < buf.length) this.rest = Buffer.from(buf.subarray(offset));
    if (acks) this.queue(acks.subarray(0, ackCount * 4));
  }
}

function encodePublish(topic: Buffer, payload: Buffer, qos: 0 | 1, retain: boolean, id: number): Buffer {
  const remaining = 2 + topic.length + (qos > 0 ? 2 : 0) + payload.length;
  const out = Buffer.allocUnsafe(1 + remainingLengthSize(remaining) + remaining);
  out[0] = 0x30 | (qos << 1) | (retain ? 1 : 0);
  let pos = writeRemainingLength(out, 1, remaining);
  out.writeUInt16BE(topic.length, pos);
  pos += 2;
  topic.copy(out, pos);
  pos += topic.length;
  if (qos > 0) {
    out.writeUInt16BE(id, pos);
    pos += 2;
  }
  payload.copy(out, pos);
  return out;
}

function encodeConnect(clientId: string, clean: boolean, keepalive: number): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.alloc(10 + 2 + id.length);
  body.writeUInt16BE(4, 0);
  body.write('MQTT', 2, 'latin1');
  body[6] = 4;
  body[7] = clean ? 0x02 : 0x00;
  body.writeUInt16BE(keepalive, 8);
  body.writeUInt16BE(id.length, 10);
  id.copy(body, 12);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}
