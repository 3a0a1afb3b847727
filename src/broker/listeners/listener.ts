import type { Duplex } from 'node:stream';
import type { ConnectionInfo } from '../connection.js';
import type { ListenerOptions } from '../options.js';

export type ConnectionHandler = (stream: Duplex, info: ConnectionInfo) => void;

/** One transport the broker accepts clients on. */
export interface Listener {
  readonly options: ListenerOptions;
  readonly name: string;
  start(): Promise<void>;
  /** The bound port (useful with port 0). */
  port(): number;
  /** Stop accepting; existing connections are closed by the broker. */
  close(): Promise<void>;
}

export function listenerName(options: ListenerOptions, port = options.port): string {
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const path = options.protocol === 'ws' || options.protocol === 'wss' ? options.path : '';
  return `${options.protocol}://${host}:${port}${path}`;
}
