import type { BitValue, GpioLine } from '../../../src/drivers/types.js';

/** An in-memory output line that records writes and can be told to fail. */
export class FakeLine implements GpioLine {
  level: BitValue;
  writes: BitValue[] = [];
  failWrites = false;
  failReads = false;

  constructor(
    readonly bcm: number,
    initial: BitValue = 0,
  ) {
    this.level = initial;
  }

  async read(): Promise<BitValue> {
    if (this.failReads) throw new Error(`gpio${this.bcm}: read failed`);
    return this.level;
  }

  async write(value: BitValue): Promise<void> {
    await Promise.resolve();
    if (this.failWrites) throw new Error(`gpio${this.bcm}: EIO`);
    this.level = value;
    this.writes.push(value);
  }

  watch(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {}
}
