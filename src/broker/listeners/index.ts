import type { ListenerOptions } from '../options.js';
import type { ConnectionHandler, Listener } from './listener.js';
import { TcpListener } from './tcp-listener.js';
import { WebSocketListener } from './websocket-listener.js';

export type { Listener, ConnectionHandler } from './listener.js';
export { listenerName } from './listener.js';

export function createListener(options: ListenerOptions, onConnection: ConnectionHandler): Listener {
  return options.protocol === 'ws' || options.protocol === 'wss'
    ? new WebSocketListener(options, onConnection)
    : new TcpListener(options, onConnection);
}
