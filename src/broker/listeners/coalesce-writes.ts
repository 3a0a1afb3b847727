import { Socket } from 'node:net';

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
