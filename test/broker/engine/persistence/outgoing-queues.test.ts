import { describe, expect, it } from 'vitest';
import { OutgoingQueues } from '../../../../src/broker/engine/persistence/outgoing-queues.js';

const message = (counter: number) => ({ cmd: 'publish', topic: 't', payload: Buffer.from(String(counter)), qos: 1, brokerId: 'b', brokerCounter: counter });

function queues(): OutgoingQueues {
  const q = new OutgoingQueues();
  q.setBrokerId('b');
  return q;
}

describe('OutgoingQueues', () => {
  it('keeps an emptied queue until it has stayed empty through a whole flush interval, then drops it', () => {
    const q = queues();
    q.enqueue('c', message(1));
    q.update('c', { ...message(1), messageId: 7 });
    expect(q.clear('c', { messageId: 7 })).toMatchObject({ brokerCounter: 1 });
    expect(q.queueCount).toBe(1);
    q.takeChanges();
    expect(q.queueCount).toBe(1);
    q.takeChanges();
    expect(q.queueCount).toBe(0);
    expect(q.packets('c')).toEqual([]);
  });

  it('keeps a queue that was emptied and then given a new message before the flush', () => {
    const q = queues();
    q.enqueue('c', message(1));
    q.clear('c', message(1));
    q.enqueue('c', message(2));
    const changes = q.takeChanges();
    expect(q.queueCount).toBe(1);
    expect(q.packets('c').map((p) => p.brokerCounter)).toEqual([2]);
    expect(changes.puts).toHaveLength(1);
    q.clear('c', message(2));
    expect(q.takeChanges().deletes).toEqual([changes.puts[0]![0]]);
    expect(q.queueCount).toBe(1);
    // Used again within the interval: kept for another one.
    q.enqueue('c', message(3));
    q.clear('c', message(3));
    q.takeChanges();
    expect(q.queueCount).toBe(1);
    q.takeChanges();
    expect(q.queueCount).toBe(0);
  });

  it('writes nothing for a message acknowledged before the flush', () => {
    const q = queues();
    for (let i = 1; i <= 3; i++) {
      q.enqueue('c', message(i));
      q.update('c', { ...message(i), messageId: i });
      q.clear('c', { messageId: i });
    }
    expect(q.takeChanges()).toMatchObject({ puts: [], deletes: [] });
  });
});
