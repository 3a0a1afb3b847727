import type { Client } from 'aedes';
import { internalsOf } from '../aedes-internals.js';

/**
 * Reads a connection in flowing mode, in place of aedes' paused-mode loop. aedes waits for 'readable', takes the
 * buffered bytes with read(null), parses them, and reads again once every packet of that read is handled (its
 * `_parsingBatch` counter back to 0). Each read then costs Node a nextTick, a 'readable' event and read()'s
 * bookkeeping; at 2,000 msg/s every message is a read of its own, and in fan-out so is every PUBACK.
 * Here each chunk is parsed as it arrives ('data'), and the connection is paused while packets of the chunks read so
 * far are still being handled, resumed when the same counter is back to 0: the same rule, so a slow subscriber
 * still slows its publishers.
 * Call it on the Client aedes has just created, before any byte is read.
 */
export function readFlowing(client: Client): void {
  const state = internalsOf(client);
  const conn = state.conn;
  conn.removeListener('readable', state._nextBatch);
  // aedes starts at 1: the 'readable' it waits for. Here nothing is pending until a packet is.
  state._parsingBatch = 0;
  state._nextBatch = (error?: Error | null): void => {
    if (error) {
      state.emit('error', error);
      return;
    }
    if (state._paused) return;
    if (--state._parsingBatch > 0) return;
    state._parsingBatch = 0;
    if (conn.isPaused()) conn.resume();
  };
  conn.on('data', (chunk: Buffer) => {
    if (state.closed) return;
    state._parser.parse(chunk);
    if (state._parsingBatch > 0 || state._paused) conn.pause();
  });
}
