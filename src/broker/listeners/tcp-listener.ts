import net, { type Server } from 'node:net';
import tls from 'node:tls';
import { ListenerError } from '../errors.js';
import { ServerListener } from './listener.js';
import { loadTlsServerOptions, verifiedCommonName } from './tls-context.js';

/** MQTT over TCP (`mqtt`) or over TLS (`mqtts`). */
export class TcpListener extends ServerListener {
  private server: Server | undefined;

  protected async createServer(): Promise<Server> {
    this.server = await this.buildServer();
    return this.server;
  }

  private async buildServer(): Promise<Server> {
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
      this.onConnection(socket, { listener: this.options, listenerName: this.name, socket });
    });
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
