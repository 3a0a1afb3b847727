import { DeviceBusyError, DeviceNotPresentError, HardwareIoError } from '../errors.js';
import type { GpioLine } from '../types.js';
import { lineName } from './pi-chips.js';

/**
 * The lines one controller has open: a second open of the same BCM line is EBUSY (as the kernel says for a line
 * requested twice), and close() closes them all.
 */
export class LineRegistry<L extends GpioLine = GpioLine> {
  private readonly lines = new Map<number, L>();
  private readonly pending = new Set<number>();
  private closed = false;

  constructor(private readonly maxLines = 58) {}

  /**
   * Runs `factory` with `bcm` reserved: concurrent opens of one line are refused while the first is in progress,
   * and a failed open leaves the line free.
   */
  async open<T extends L>(bcm: number, factory: () => Promise<T>): Promise<T> {
    this.reserve(bcm);
    this.pending.add(bcm);
    try {
      const line = await factory();
      if (this.closed) {
        // The controller was closed while this line was opening: nobody would ever close it.
        await line.close().catch(() => undefined);
        throw new HardwareIoError(lineName(bcm), 'the GPIO controller was closed while the line was opening');
      }
      this.lines.set(bcm, line);
      return line;
    } finally {
      this.pending.delete(bcm);
    }
  }

  /** Throws unless `bcm` is a free, valid line of an open controller. */
  reserve(bcm: number): void {
    if (this.closed) throw new HardwareIoError(lineName(bcm), 'the GPIO controller is closed');
    if (!Number.isInteger(bcm) || bcm < 0 || bcm >= this.maxLines) {
      throw new DeviceNotPresentError(lineName(bcm), `no such line (BCM numbers are 0..${this.maxLines - 1})`);
    }
    if (this.lines.has(bcm) || this.pending.has(bcm)) throw new DeviceBusyError(lineName(bcm), 'line is already open', { code: 'EBUSY' });
  }

  delete(bcm: number): void {
    this.lines.delete(bcm);
  }

  has(bcm: number): boolean {
    return this.lines.has(bcm);
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const lines = [...this.lines.values()];
    const results = await Promise.allSettled(lines.map((line) => line.close()));
    this.lines.clear();
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  }
}
