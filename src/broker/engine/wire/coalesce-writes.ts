import { Socket } from 'node:net';
import type { Writable } from 'node:stream';

const corked = Symbol('corked until the next turn');

type CoalescingSocket = Socket & { [corked]?: boolean };

const write = Socket.prototype.write as (this: Socket, ...args: unknown[]) => boolean;

function release(socket: CoalescingSocket): void {
  socket[corked] = false;
  socket.uncork();
}

function coalescedWrite(this: CoalescingSocket, ...args: unknown[]): boolean {
  if (!this[corked] && !this.destroyed) {
    this[corked] = true;
    this.cork();
    setImmediate(release, this);
  }
  return write.apply(this, args);
}

/**
 * aedes writes every delivered packet from its own setImmediate, and mqtt-packet uncorks on the next tick, so a
 * subscriber receiving a burst costs one writev syscall per packet. Keeping the socket corked until the next turn
 * of the event loop sends everything written in this turn at once; the delay is one loop turn, not a timer.
 * One function shared by all sockets, state in a symbol property: no closures per connection (each idle client
 * counts).
 */
export function coalesceWrites(socket: Socket): void {
  socket.write = coalescedWrite as Socket['write'];
}

/**
 * Writes `chunk` at once, together with whatever this turn has corked before it: a batch that is already one Buffer
 * gains nothing from waiting for the next turn, and the wait is latency. Plain write for other streams (WebSocket).
 */
export function writeNow(stream: Writable, chunk: Buffer): boolean {
  const socket = stream as CoalescingSocket;
  if (socket.write !== (coalescedWrite as Socket['write'])) return stream.write(chunk);
  const written = write.call(socket, chunk);
  if (socket[corked]) release(socket);
  return written;
}
