import net, { type Server, type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { ListenerError } from '../errors.js';
import type { ListenerOptions } from '../options.js';
import { listenerName, type ConnectionHandler, type Listener } from './listener.js';
import { loadTlsServerOptions, verifiedCommonName } from './tls-context.js';

/** MQTT over TCP (`mqtt`) or over TLS (`mqtts`). */
export class TcpListener implements Listener {
  private server: Server | undefined;
  private boundPort: number;

  constructor(
    readonly options: ListenerOptions,
    private readonly onConnection: ConnectionHandler,
  ) {
    this.boundPort = options.port;
  }

  get name(): string {
    return listenerName(this.options, this.boundPort);
  }

  async start(): Promise<void> {
    const server = await this.createServer();
    this.server = server;
    server.listen({ host: this.options.host, port: this.options.port });
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e))]);
    } catch (error) {
      throw new ListenerError(this.name, error);
    }
    this.boundPort = (server.address() as AddressInfo).port;
  }

  private async createServer(): Promise<Server> {
    if (this.options.protocol === 'mqtts') {
      if (!this.options.tls) throw new ListenerError(this.name, new Error('mqtts needs tls options'));
      const tlsOptions = await loadTlsServerOptions(this.options.tls).catch((e: unknown) => {
        throw new ListenerError(this.name, e);
      });
      const server = tls.createServer(tlsOptions);
      server.on('secureConnection', (socket) => {
        socket.setNoDelay(true);
        this.onConnection(socket, {
          listener: this.options,
          listenerName: this.name,
          remoteAddress: socket.remoteAddress,
          certificateCommonName: verifiedCommonName(socket),
          socket,
        });
      });
      // A failed handshake is the client's problem, not the listener's.
      server.on('tlsClientError', (_error, socket) => socket.destroy());
      return server;
    }
    return net.createServer((socket) => {
      socket.setNoDelay(true);
      this.onConnection(socket, { listener: this.options, listenerName: this.name, remoteAddress: socket.remoteAddress, socket });
    });
  }

  port(): number {
    return this.boundPort;
  }

  /**
   * Stops accepting at once. Does not wait for server.close()'s callback: that only runs once every connection has
   * ended, and the broker closes its clients after its listeners, so waiting here would hang stop() while any client
   * is connected.
   */
  async close(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    server.close();
  }
}
