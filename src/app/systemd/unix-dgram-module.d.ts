// The part of the optional `unix-dgram` package that unix-dgram-backend.ts uses; the package ships no type declarations.
declare module 'unix-dgram' {
  import type { EventEmitter } from 'node:events';

  export interface UnixDgramSocket extends EventEmitter {
    /** The socket's file descriptor (-1 once closed). */
    fd: number;
    /** Set by connect(); send() then ignores offset, length and path and sends on the connection. */
    connected?: boolean;
    bind(path: string): void;
    connect(path: string): void;
    send(buf: Buffer, offset: number, length: number, path: string, callback?: (error?: Error) => void): void;
    send(buf: Buffer, callback?: (error?: Error) => void): void;
    close(): void;
  }
  export function createSocket(type: 'unix_dgram', listener?: (message: Buffer) => void): UnixDgramSocket;
  const unixDgram: { createSocket: typeof createSocket };
  export default unixDgram;
}
