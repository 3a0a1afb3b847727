import type { Socket } from 'node:net';

/**
 * aedes writes every delivered packet from its own setImmediate, and mqtt-packet uncorks on the next tick, so a
 * subscriber receiving a burst costs one writev syscall per packet. Keeping the socket corked until the next turn
 * of the event loop sends everything written in this turn at once; the delay is one loop turn, not a timer.
 */
export function coalesceWrites(socket: Socket): void {
  let corked = false;
  const release = () => {
    corked = false;
    socket.uncork();
  };
  const write = socket.write;
  socket.write = function coalescedWrite(this: Socket, ...args: Parameters<Socket['write']>) {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      setImmediate(release);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket['write'];
}
