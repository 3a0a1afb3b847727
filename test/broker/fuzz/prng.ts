import { Random } from '../../../mocks/chips/random.js';

/**
 * The simulation's seeded PRNG (mulberry32, mocks/chips/random.ts) with the draws a fuzzer needs: the same seed gives the same fuzz inputs on every machine, so a failure printed
 * with its seed and case number can be replayed. Not for anything secret.
 */
export class Prng {
  private readonly random: Random;

  constructor(seed: number) {
    this.random = new Random(seed);
  }

  /** A uint32. */
  next(): number {
    return this.random.nextUint32();
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + (this.next() % (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() / 0x1_0000_0000 < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.next() % items.length]!;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

/** A seed for case `index` of a run, independent of the cases before it: any case can be replayed alone. */
export function caseSeed(runSeed: number, index: number): number {
  let h = (runSeed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
