/**
 * Where systemd listens for a service's notifications ($NOTIFY_SOCKET), and the transport that sends them. Node has
 * no unix datagram sockets: the transport is the optional native `unix-dgram` package, imported only when
 * NOTIFY_SOCKET is set (unix-dgram-backend.ts), so that a gateway run by hand, or on a machine where the package did
 * not build, never loads it.
 */

/** Sends one datagram per message to the service manager. */
export interface NotifyTransport {
  send(message: string): Promise<void>;
  /** Releases the socket; the process cannot exit while it is open. */
  close(): void;
}

/** `/run/systemd/notify`, or an abstract socket (`@name`: Linux's namespace without a file, sd_notify(3)). */
export type NotifyAddress = { kind: 'path'; path: string } | { kind: 'abstract'; name: string };

/** NOTIFY_SOCKET names no socket this process can use, or the socket cannot be opened. */
export class NotifySocketError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotifySocketError';
  }
}

/** sockaddr_un's sun_path: 108 bytes on Linux, a NUL included for paths and the leading NUL for abstract names. */
const SUN_PATH_BYTES = 108;

export function parseNotifyAddress(value: string): NotifyAddress {
  const bytes = Buffer.byteLength(value);
  if (bytes >= SUN_PATH_BYTES) throw new NotifySocketError(`NOTIFY_SOCKET=${JSON.stringify(value)}: longer than a unix socket address (${SUN_PATH_BYTES - 1} bytes)`);
  if (value.startsWith('/')) return { kind: 'path', path: value };
  if (value.startsWith('@') && value.length > 1) return { kind: 'abstract', name: value.slice(1) };
  // systemd also passes vsock:CID:PORT to a VM's init; a gateway service is never that.
  throw new NotifySocketError(`NOTIFY_SOCKET=${JSON.stringify(value)}: expected an absolute path or @name (an abstract socket)`);
}

export type TransportOpener = (address: NotifyAddress) => Promise<NotifyTransport>;

/** The unix-dgram backend, imported now and not before. */
export const openUnixDgramTransport: TransportOpener = async (address) => {
  const backend = await import('./unix-dgram-backend.js');
  return backend.openUnixDgram(address);
};
