import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { ListenerOptions } from './options.js';

/** What the broker knows about a connection before MQTT CONNECT: where it came in and who the TLS layer says it is. */
export interface ConnectionInfo {
  listener: ListenerOptions;
  /** Name of the listener for logs: `mqtt://127.0.0.1:1883`. */
  listenerName: string;
  remoteAddress: string | undefined;
  /** CN of a verified client certificate. */
  certificateCommonName?: string;
  /** The TCP socket underneath (for WebSocket, the HTTP socket), for byte counts. */
  socket: Socket;
}

/** Connections by the stream handed to aedes; also the byte totals for $SYS. */
export class ConnectionRegistry {
  private readonly byStream = new WeakMap<Duplex, ConnectionInfo>();
  private readonly live = new Set<Socket>();
  private closedBytesReceived = 0;
  private closedBytesSent = 0;

  register(stream: Duplex, info: ConnectionInfo): void {
    this.byStream.set(stream, info);
    const socket = info.socket;
    this.live.add(socket);
    socket.once('close', () => {
      this.live.delete(socket);
      this.closedBytesReceived += socket.bytesRead;
      this.closedBytesSent += socket.bytesWritten;
    });
  }

  infoFor(stream: Duplex): ConnectionInfo | undefined {
    return this.byStream.get(stream);
  }

  get openSockets(): number {
    return this.live.size;
  }

  bytesReceived(): number {
    let total = this.closedBytesReceived;
    for (const socket of this.live) total += socket.bytesRead;
    return total;
  }

  bytesSent(): number {
    let total = this.closedBytesSent;
    for (const socket of this.live) total += socket.bytesWritten;
    return total;
  }

  destroyAll(): void {
    for (const socket of this.live) socket.destroy();
  }
}
