import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { ListenerOptions } from './options.js';

/** What the broker knows about a connection before MQTT CONNECT: where it came in and who the TLS layer says it is. */
export interface ConnectionInfo {
  listener: ListenerOptions;
  /** Name of the listener for logs: `mqtt://127.0.0.1:1883`. */
  listenerName: string;
  /** CN of a verified client certificate. */
  certificateCommonName?: string;
  /** The TCP socket underneath (for WebSocket, the HTTP socket), for byte counts and the remote address. */
  socket: Socket;
}

interface ByteTotals {
  received: number;
  sent: number;
}

/** Connections by the stream handed to aedes; also the byte totals for $SYS. */
export class ConnectionRegistry {
  private readonly byStream = new WeakMap<Duplex, ConnectionInfo>();
  private readonly live = new Set<Socket>();
  private readonly closed: ByteTotals = { received: 0, sent: 0 };
  private readonly onClose = forgetOnClose(this.live, this.closed);

  register(stream: Duplex, info: ConnectionInfo): void {
    this.byStream.set(stream, info);
    this.live.add(info.socket);
    info.socket.on('close', this.onClose);
  }

  infoFor(stream: Duplex): ConnectionInfo | undefined {
    return this.byStream.get(stream);
  }

  get openSockets(): number {
    return this.live.size;
  }

  bytesReceived(): number {
    let total = this.closed.received;
    for (const socket of this.live) total += socket.bytesRead;
    return total;
  }

  bytesSent(): number {
    let total = this.closed.sent;
    for (const socket of this.live) total += socket.bytesWritten;
    return total;
  }

  destroyAll(): void {
    for (const socket of this.live) socket.destroy();
  }
}

/**
 * One 'close' listener for all sockets (`this` is the socket) rather than a closure per connection: with thousands of
 * idle clients, every object kept per connection counts.
 */
function forgetOnClose(live: Set<Socket>, closed: ByteTotals): (this: Socket) => void {
  return function forget(this: Socket) {
    live.delete(this);
    closed.received += this.bytesRead;
    closed.sent += this.bytesWritten;
  };
}
