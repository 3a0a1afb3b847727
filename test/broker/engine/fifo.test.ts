import { describe, expect, it } from 'vitest';
import { callQueued, Fifo } from '../../../src/broker/engine/fifo.js';

describe('Fifo', () => {
  it('takes items in the order they came, through at, drop and shift', () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 5; i++) q.push(i);
    expect([q.at(0), q.at(4), q.size]).toEqual([0, 4, 5]);
    q.drop(2);
    expect(q.shift()).toBe(2);
    q.push(5);
    expect([q.at(0), q.at(1), q.at(2), q.size]).toEqual([3, 4, 5, 3]);
    q.clear();
    expect([q.size, q.shift()]).toEqual([0, undefined]);
  });

  it('stays a correct queue when it never empties (its storage is compacted)', () => {
    const q = new Fifo<number>();
    const model: number[] = [];
    let next = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 30; i++) {
        q.push(next);
        model.push(next++);
      }
      for (let i = 0; i < 29; i++) expect(q.shift()).toBe(model.shift());
      expect(q.size).toBe(model.length);
    }
    expect(Array.from({ length: q.size }, (_, i) => q.at(i))).toEqual(model);
  });

  it('callQueued calls what was queued before it, and leaves what those callbacks queue for the next call', () => {
    const q = new Fifo<() => void>();
    const calls: string[] = [];
    q.push(() => {
      calls.push('a');
      q.push(() => calls.push('later'));
    });
    q.push(() => calls.push('b'));
    callQueued(q);
    expect(calls).toEqual(['a', 'b']);
    callQueued(q);
    expect(calls).toEqual(['a', 'b', 'later']);
  });
});
