import type { ListenerOptions } from '../options.js';
import type { ConnectionHandler, Listener, TransportLimits } from './listener.js';
import { TcpListener } from './tcp-listener.js';

export async function createListener(options: ListenerOptions, onConnection: ConnectionHandler, limits: TransportLimits = { maxMessageBytes: 0 }): Promise<Listener> {
  if (options.protocol === 'ws' || options.protocol === 'wss') {
    // Loaded only when configured: the WebSocket stack costs ~4 MiB of a Pi Zero's memory.
    const { WebSocketListener } = await import('./websocket-listener.js');
    return new WebSocketListener(options, onConnection, limits);
  }
  return new TcpListener(options, onConnection);
}
