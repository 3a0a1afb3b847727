import { once } from 'node:events';
import net, { type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWrites, writeNow } from '../../../../src/broker/engine/wire/coalesce-writes.js';

const open: Socket[] = [];
let server: net.Server | undefined;

afterEach(async () => {
  for (const socket of open.splice(0)) socket.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A connected pair on loopback: the broker side (coalescing) and the client side, with what the client received. */
async function pair(): Promise<{ broker: Socket; received: () => string }> {
  let chunks = '';
  const accepted = new Promise<Socket>((resolve) => {
    server = net.createServer(resolve);
  });
  server!.listen(0, '127.0.0.1');
  await once(server!, 'listening');
  const client = net.connect((server!.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('data', (chunk: Buffer) => (chunks += chunk.toString()));
  const broker = await accepted;
  open.push(client, broker);
  coalesceWrites(broker);
  return { broker, received: () => chunks };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('coalesceWrites', () => {
  it('holds what one loop turn writes and sends it on the next', async () => {
    const { broker, received } = await pair();
    broker.write('a');
    broker.write('b');
    expect(broker.writableCorked).toBe(1);
    expect(broker.writableLength).toBe(2);
    await nextTurn();
    expect(broker.writableCorked).toBe(0);
    await expect.poll(received).toBe('ab');
  });

  it('writeNow sends at once, with what was held before it', async () => {
    const { broker, received } = await pair();
    broker.write('a');
    writeNow(broker, Buffer.from('b'));
    expect(broker.writableCorked).toBe(0);
    expect(broker.writableLength).toBe(0);
    await expect.poll(received).toBe('ab');
    // The turn's pending release finds nothing to do, and later writes are coalesced again.
    await nextTurn();
    broker.write('c');
    expect(broker.writableCorked).toBe(1);
    await expect.poll(received).toBe('abc');
  });
});
