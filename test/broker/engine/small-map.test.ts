import { describe, expect, it } from 'vitest';
import { LINEAR_LIMIT, SmallMap } from '../../../src/broker/engine/small-map.js';

/** Applies the same random operations to a SmallMap and a Map and compares them after each one. */
function compareWithMap(seed: number, operations: number, keySpace: number): void {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const small = new SmallMap<number, string>();
  const reference = new Map<number, string>();
  for (let i = 0; i < operations; i++) {
    const key = Math.floor(random() * keySpace);
    const roll = random();
    if (roll < 0.5) {
      small.set(key, `v${i}`);
      reference.set(key, `v${i}`);
    } else if (roll < 0.95) {
      expect(small.delete(key)).toBe(reference.delete(key));
    } else {
      small.clear();
      reference.clear();
    }
    expect(small.size).toBe(reference.size);
    expect(small.get(key)).toBe(reference.get(key));
    expect(small.has(key)).toBe(reference.has(key));
  }
  expect(small.valueList()).toEqual([...reference.values()]);
}

describe('SmallMap', () => {
  it('behaves like a Map, insertion order included, below the linear limit', () => {
    compareWithMap(1, 5000, LINEAR_LIMIT / 2);
  });

  it('behaves like a Map across the move into a Map and back', () => {
    compareWithMap(7, 20000, LINEAR_LIMIT * 3);
  });

  it('keeps insertion order when an early entry is deleted, and a re-set key keeps its place', () => {
    const map = new SmallMap<string, number>();
    map.set('a', 1).set('b', 2).set('c', 3);
    map.delete('a');
    map.set('b', 20);
    map.set('a', 10);
    expect(map.valueList()).toEqual([20, 3, 10]);
  });

  it('holds more entries than the linear limit', () => {
    const map = new SmallMap<number, number>();
    for (let i = 0; i < LINEAR_LIMIT * 4; i++) map.set(i, i * 2);
    expect(map.size).toBe(LINEAR_LIMIT * 4);
    expect(map.get(LINEAR_LIMIT * 3)).toBe(LINEAR_LIMIT * 6);
    for (let i = 0; i < LINEAR_LIMIT * 4; i++) expect(map.delete(i)).toBe(true);
    expect(map.size).toBe(0);
    map.set(5, 5);
    expect(map.valueList()).toEqual([5]);
  });
});
