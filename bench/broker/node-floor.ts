/**
 * The floor of any broker written for Node, for the fixed-rate scenarios: a process that speaks just enough MQTT
 * 3.1.1 for the load generator and forwards each PUBLISH frame as it was read to every subscriber, one socket write
 * per frame and subscriber, then acknowledges a QoS 1 PUBLISH to its sender. No sessions, no topic matching (every
 * subscriber gets everything), no store, no packet identifiers of its own, no flow control. What it costs per
 * message is Node's: the event loop's wake-up, the stream read, the socket writes.
 *
 *   node --import tsx bench/broker/node-floor.ts PORT      (run by `--broker floor`)
 */
import net from 'node:net';

const CONNECT = 1;
const PUBLISH = 3;
const SUBSCRIBE = 8;
const PINGREQ = 12;
const DISCONNECT = 14;

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) throw new Error('usage: node-floor.ts PORT');

const subscribers = new Set<net.Socket>();

function handleFrame(socket: net.Socket, frame: Buffer, bodyStart: number): void {
  const type = frame[0]! >> 4;
  switch (type) {
    case CONNECT:
      socket.write(Buffer.from([0x20, 2, 0, 0]));
      break;
    case SUBSCRIBE: {
      subscribers.add(socket);
      // SUBACK: the packet identifier, then the requested QoS granted (one filter per SUBSCRIBE from the bench).
      socket.write(Buffer.from([0x90, 3, frame[bodyStart]!, frame[bodyStart + 1]!, frame[frame.length - 1]! & 0x03]));
      break;
    }
    case PUBLISH: {
      for (const subscriber of subscribers) subscriber.write(frame);
      if (((frame[0]! >> 1) & 0x03) === 1) {
        const topicLength = frame.readUInt16BE(bodyStart);
        const id = bodyStart + 2 + topicLength;
        socket.write(Buffer.from([0x40, 2, frame[id]!, frame[id + 1]!]));
      }
      break;
    }
    case PINGREQ:
      socket.write(Buffer.from([0xd0, 0]));
      break;
    case DISCONNECT:
      socket.end();
      break;
    default:
      // PUBACKs from subscribers and anything else: nothing to do.
      break;
  }
}

net
  .createServer((socket) => {
    socket.setNoDelay(true);
    let rest: Buffer | undefined;
    socket.on('data', (chunk: Buffer) => {
      const buffer = rest ? Buffer.concat([rest, chunk]) : chunk;
      let offset = 0;
      while (offset + 2 <= buffer.length) {
        let length = 0;
        let multiplier = 1;
        let i = offset + 1;
        let byte: number;
        do {
          byte = buffer[i++]!;
          length += (byte & 0x7f) * multiplier;
          multiplier *= 128;
        } while (byte & 0x80 && i < buffer.length);
        if (byte & 0x80 || i + length > buffer.length) break;
        handleFrame(socket, buffer.subarray(offset, i + length), i - offset);
        offset = i + length;
      }
      rest = offset < buffer.length ? Buffer.from(buffer.subarray(offset)) : undefined;
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => subscribers.delete(socket));
  })
  .listen(port, '127.0.0.1');
