import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { ListenerError } from '../errors.js';
import type { ConnectionInfo } from '../connection.js';
import type { ListenerOptions } from '../options.js';

export type ConnectionHandler = (stream: Duplex, info: ConnectionInfo) => void;

/** What a transport may buffer before the broker's packet reader sees the bytes. */
export interface TransportLimits {
  /**
   * Largest message a framing transport (WebSocket) assembles, fragments included: the largest MQTT packet allowed.
   * 0: the MQTT maximum.
   */
  maxMessageBytes: number;
}

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

/** `mqtt://127.0.0.1:1883`, `ws://[::1]:9001/mqtt`: a listener's name in logs, health and metrics. */
export function listenerName(options: ListenerOptions, port = options.port): string {
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const path = options.protocol === 'ws' || options.protocol === 'wss' ? options.path : '';
  return `${options.protocol}://${host}:${port}${path}`;
}

/** A listener on a Node server (net, tls, http, https): binding, the bound port and the name for logs. */
export abstract class ServerListener implements Listener {
  private boundPort: number;
  /** Built once, not per connection: every connection's ConnectionInfo refers to it. */
  private boundName: string;

  constructor(
    readonly options: ListenerOptions,
    protected readonly onConnection: ConnectionHandler,
  ) {
    this.boundPort = options.port;
    this.boundName = listenerName(options);
  }

  get name(): string {
    return this.boundName;
  }

  port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const server = await this.createServer();
    server.listen({ host: this.options.host, port: this.options.port });
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e))]);
    } catch (error) {
      throw new ListenerError(this.name, error);
    }
    this.boundPort = (server.address() as AddressInfo).port;
    this.boundName = listenerName(this.options, this.boundPort);
  }

  abstract close(): Promise<void>;

  protected abstract createServer(): Promise<Server>;
}
