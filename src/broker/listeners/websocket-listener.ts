import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { ListenerError } from '../errors.js';
import { ServerListener, type ConnectionHandler, type TransportLimits } from './listener.js';
import type { ListenerOptions } from '../options.js';
import { loadTlsServerOptions, verifiedCommonName } from './tls-context.js';

/** The largest MQTT packet: 256 MiB of remaining length and its fixed header. */
const MQTT_MAX_PACKET = 268_435_455 + 5;

/** MQTT over WebSocket (`ws`) or secure WebSocket (`wss`), on one HTTP path, subprotocol `mqtt`. */
export class WebSocketListener extends ServerListener {
  private server: http.Server | https.Server | undefined;
  private wss: WebSocketServer | undefined;

  constructor(
    options: ListenerOptions,
    onConnection: ConnectionHandler,
    private readonly limits: TransportLimits,
  ) {
    super(options, onConnection);
  }

  protected async createServer(): Promise<http.Server | https.Server> {
    const server = await this.createHttpServer();
    this.server = server;
    const wss = new WebSocketServer({
      server,
      path: this.options.path,
      // MQTT packets are small and already compact; compression costs CPU on a Pi for nothing.
      perMessageDeflate: false,
      // ws assembles a fragmented message before the stream sees any of it, up to 100 MiB by default, whoever sends
      // it: a stranger's message is held to the largest packet the broker accepts (close code 1009 beyond).
      // MQTT over WebSocket lets a message carry several packets; a client batching past that is refused too.
      maxPayload: this.limits.maxMessageBytes > 0 ? this.limits.maxMessageBytes : MQTT_MAX_PACKET,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
    });
    this.wss = wss;
    // ws re-emits the HTTP server's errors (EADDRINUSE...) on itself: unhandled, they would crash the process.
    // start() reports them from the server, as a ListenerError.
    wss.on('error', () => undefined);
    wss.on('connection', (ws, request) => {
      const socket = request.socket as Socket;
      socket.setNoDelay(true);
      // A protocol error (a message past maxPayload, bad framing): ws sends its close frame, then would go on reading
      // and discarding the peer's bytes until the close handshake times out (30 s). Nothing that peer sends matters now.
      // So: stop reading, let the close frame go out, and close the socket.
      ws.once('error', () =>
        setImmediate(() => {
          socket.pause();
          socket.end();
          setTimeout(() => socket.destroy(), 1_000).unref();
        }),
      );
      const stream = createWebSocketStream(ws);
      // Errors surface through aedes' client; an unhandled one here would crash the process.
      stream.on('error', () => stream.destroy());
      this.onConnection(stream, {
        listener: this.options,
        listenerName: this.name,
        certificateCommonName: this.options.protocol === 'wss' ? verifiedCommonName(socket as TLSSocket) : undefined,
        socket,
      });
    });
    return server;
  }

  private async createHttpServer(): Promise<http.Server | https.Server> {
    const reject = (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
    };
    if (this.options.protocol === 'wss') {
      if (!this.options.tls) throw new ListenerError(this.name, new Error('wss needs tls options'));
      const tlsOptions = await loadTlsServerOptions(this.options.tls).catch((e: unknown) => {
        throw new ListenerError(this.name, e);
      });
      return https.createServer(tlsOptions, reject);
    }
    return http.createServer(reject);
  }

  async close(): Promise<void> {
    for (const client of this.wss?.clients ?? []) client.terminate();
    this.wss?.close();
    const server = this.server;
    if (!server?.listening) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
