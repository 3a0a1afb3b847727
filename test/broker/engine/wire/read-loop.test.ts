import type { Client } from 'aedes';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readFlowing } from '../../../../src/broker/engine/wire/read-loop.js';

/** What readFlowing touches of an aedes Client, with a parser that leaves `holds` packets pending per chunk. */
function fakeClient(holds: number) {
  const conn = new PassThrough();
  const parsed: string[] = [];
  const errors: Error[] = [];
  const client = {
    conn,
    closed: false,
    _paused: false,
    _parsingBatch: 1,
    _nextBatch: (_error?: Error): void => {
      throw new Error("aedes' own read loop must not run");
    },
    _parser: {
      parse(chunk: Buffer) {
        parsed.push(chunk.toString());
        client._parsingBatch += holds;
      },
    },
    emit(_event: string, error: Error) {
      errors.push(error);
      return true;
    },
  };
  conn.on('readable', client._nextBatch);
  return { client, conn, parsed, errors };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('readFlowing', () => {
  it('parses each chunk as it arrives when its packets are handled at once', async () => {
    const { client, conn, parsed } = fakeClient(0);
    readFlowing(client as unknown as Client);
    conn.write('a');
    conn.write('b');
    await turn();
    expect(parsed).toEqual(['a', 'b']);
  });

  it('reads nothing more while packets of the last chunk are pending, and goes on once they are handled', async () => {
    const { client, conn, parsed } = fakeClient(2);
    readFlowing(client as unknown as Client);
    conn.write('a');
    await turn();
    conn.write('b');
    await turn();
    expect(parsed).toEqual(['a']);
    client._nextBatch();
    await turn();
    expect(parsed).toEqual(['a']);
    client._nextBatch();
    await turn();
    expect(parsed).toEqual(['a', 'b']);
  });

  it("stops while aedes' client is paused", async () => {
    const { client, conn, parsed } = fakeClient(1);
    readFlowing(client as unknown as Client);
    conn.write('a');
    await turn();
    client._paused = true;
    client._nextBatch();
    conn.write('b');
    await turn();
    expect(parsed).toEqual(['a']);
  });

  it('reports an error handed to the loop, and reads nothing for a closed client', async () => {
    const { client, conn, parsed, errors } = fakeClient(0);
    readFlowing(client as unknown as Client);
    client._nextBatch(new Error('handler failed'));
    expect(errors.map((e) => e.message)).toEqual(['handler failed']);
    client.closed = true;
    conn.write('a');
    await turn();
    expect(parsed).toEqual([]);
  });
});
