import { describe, expect, it } from 'vitest';
import type { PacketLike } from '../../../../src/broker/engine/aedes-internals.js';
import { SessionWrites } from '../../../../src/broker/engine/delivery/session-writes.js';

function recordingStore(known: boolean) {
  const calls: string[] = [];
  const store = {
    outgoingUpdateNow: (clientId: string, packet: PacketLike) => calls.push(`update ${clientId} ${packet.messageId}`) > 0 && known,
    outgoingClearNow: (clientId: string, packet: PacketLike) => {
      calls.push(`clear ${clientId} ${packet.brokerCounter}`);
      return undefined;
    },
  };
  return { calls, store };
}

const packet = (brokerCounter: number, messageId?: number): PacketLike =>
  ({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, brokerId: 'b', brokerCounter, messageId }) as PacketLike;

describe('SessionWrites', () => {
  it('applies at once when not held; while held, in order when the outermost hold is released', () => {
    const { calls, store } = recordingStore(true);
    const writes = new SessionWrites(store);
    const owner = { id: 'c', emit: () => true };
    writes.numbered(owner, packet(1, 1));
    expect(calls).toEqual(['update c 1']);

    writes.hold();
    writes.numbered(owner, packet(2, 2));
    writes.hold(); // a message published from inside a delivery
    writes.dropped(owner, packet(3));
    writes.release();
    expect(calls).toEqual(['update c 1']);
    writes.numbered(owner, packet(4, 4));
    writes.release();
    expect(calls).toEqual(['update c 1', 'update c 2', 'clear c 3', 'update c 4']);

    writes.dropped(owner, packet(5));
    expect(calls.at(-1)).toBe('clear c 5');
  });

  it('tells the client when a message it was sent is not in its session', () => {
    const { store } = recordingStore(false);
    const writes = new SessionWrites(store);
    const errors: Error[] = [];
    const owner = { id: 'c', emit: (_event: 'error', error: Error) => errors.push(error) > 0 };
    writes.hold();
    writes.numbered(owner, packet(9, 3));
    expect(errors).toEqual([]);
    writes.release();
    expect(errors.map((e) => e.message)).toEqual(['no queued message b:9 for c']);
  });
});
