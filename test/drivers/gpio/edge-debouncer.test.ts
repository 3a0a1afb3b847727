import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EdgeDebouncer } from '../../../src/drivers/gpio/edge-debouncer.js';
import type { BitValue, Edge } from '../../../src/drivers/types.js';

function make(edge: Edge, debounceMs: number, initial: BitValue = 0): { debouncer: EdgeDebouncer; edges: BitValue[] } {
  const edges: BitValue[] = [];
  return { debouncer: new EdgeDebouncer({ edge, debounceMs, initial, onEdge: (v) => edges.push(v) }), edges };
}

describe('EdgeDebouncer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('without debounce reports each level change at once, filtered by edge', () => {
    const both = make('both', 0);
    const rising = make('rising', 0);
    const falling = make('falling', 0);
    for (const v of [1, 1, 0, 1, 0] as BitValue[]) {
      both.debouncer.push(v);
      rising.debouncer.push(v);
      falling.debouncer.push(v);
    }
    expect(both.edges).toEqual([1, 0, 1, 0]);
    expect(rising.edges).toEqual([1, 1]);
    expect(falling.edges).toEqual([0, 0]);
  });

  it('reports a bouncing press once, after the quiet period', () => {
    const { debouncer, edges } = make('both', 20);
    for (const v of [1, 0, 1, 0, 1] as BitValue[]) {
      debouncer.push(v);
      vi.advanceTimersByTime(5);
    }
    expect(edges).toEqual([]);
    vi.advanceTimersByTime(14);
    expect(edges).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(edges).toEqual([1]);
  });

  it('reports nothing for a glitch that returns to the stable level', () => {
    const { debouncer, edges } = make('both', 10, 1);
    debouncer.push(0);
    vi.advanceTimersByTime(3);
    debouncer.push(1);
    vi.advanceTimersByTime(50);
    expect(edges).toEqual([]);
  });

  it('stops after dispose and restarts silently after reset', () => {
    const { debouncer, edges } = make('both', 10);
    debouncer.push(1);
    debouncer.dispose();
    vi.advanceTimersByTime(50);
    expect(edges).toEqual([]);
    const other = make('both', 0);
    other.debouncer.reset(1);
    other.debouncer.push(1);
    expect(other.edges).toEqual([]);
    other.debouncer.push(0);
    expect(other.edges).toEqual([0]);
  });
});
