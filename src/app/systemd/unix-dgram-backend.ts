import { spawn } from 'node:child_process';
import type { createSocket, UnixDgramSocket } from 'unix-dgram';
import { NotifySocketError, type NotifyAddress, type NotifyTransport } from './notify-socket.js';

interface UnixDgramModule {
  createSocket: typeof createSocket;
}

async function loadUnixDgram(): Promise<UnixDgramModule> {
  try {
    const mod = await import('unix-dgram');
    return (mod.default as UnixDgramModule | undefined) ?? mod;
  } catch (error) {
    throw new NotifySocketError(
      `the optional package unix-dgram could not be loaded (${(error as Error)?.message ?? String(error)}); it is a native module: reinstall with \`npm ci\` where a C++ compiler, make and python3 are present`,
      { cause: error },
    );
  }
}

/**
 * A unix datagram socket to systemd. A path is addressed at every send, as sd_notify does, so a systemd that
 * re-executed itself (and bound its socket again) is still reached. unix-dgram cannot address an abstract socket: it
 * copies the address with strncpy, which stops at the leading NUL, and passes the full sockaddr length, which would
 * name another socket. For one, the socket is connected once by a python3 helper that shares the descriptor (Python
 * passes the exact address length), and this process sends on the connection: the datagrams then still come from
 * this process, which is what NotifyAccess=main checks.
 */
export async function openUnixDgram(address: NotifyAddress): Promise<NotifyTransport> {
  const unixDgram = await loadUnixDgram();
  const socket = unixDgram.createSocket('unix_dgram');
  // unix-dgram emits errors it has no callback for; each send has one, so this only keeps an emit from throwing.
  socket.on('error', () => undefined);
  if (address.kind === 'abstract') {
    try {
      await connectAbstract(socket, address.name);
    } catch (error) {
      socket.close();
      throw error;
    }
  }
  let open = true;
  return {
    send(message) {
      const buffer = Buffer.from(message);
      return new Promise<void>((resolve, reject) => {
        if (!open) return reject(new NotifySocketError('notify socket is closed'));
        const done = (error?: Error) => (error ? reject(new NotifySocketError(`sending to NOTIFY_SOCKET failed: ${error.message}`, { cause: error })) : resolve());
        if (socket.connected) socket.send(buffer, done);
        else socket.send(buffer, 0, buffer.length, (address as { path: string }).path, done);
      });
    },
    close() {
      if (!open) return;
      open = false;
      socket.close();
    },
  };
}

/** Connects the socket (descriptor 3 of a python3 child, the same open socket) to the abstract address `\0name`. */
async function connectAbstract(socket: UnixDgramSocket, name: string): Promise<void> {
  const script = 'import socket, sys\ns = socket.socket(fileno=3)\ns.connect("\\0" + sys.argv[1])\ns.detach()\n';
  const child = spawn('python3', ['-c', script, name], { stdio: ['ignore', 'ignore', 'pipe', socket.fd] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).catch((error: unknown) => {
    throw new NotifySocketError(`NOTIFY_SOCKET=@${name} is an abstract socket, which needs python3 to connect to: ${(error as Error).message}`, { cause: error });
  });
  if (code !== 0) throw new NotifySocketError(`connecting to NOTIFY_SOCKET=@${name} failed: ${stderr.trim().split('\n').at(-1) ?? `python3 exited ${code}`}`);
  socket.connected = true;
}
