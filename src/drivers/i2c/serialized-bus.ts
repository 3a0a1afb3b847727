import type { I2cBus } from '../types.js';
import { Mutex } from './mutex.js';

/**
 * One I2C bus shared by several chip drivers: every access goes through a FIFO queue, so two transactions never
 * overlap, whichever backend is underneath (i2c-bus, the virtual bus). Wrap each bus once and share the wrapper.
 */
export class SerializedI2cBus implements I2cBus {
  private readonly mutex = new Mutex();
  private closed = false;

  constructor(private readonly inner: I2cBus) {}

  get busNumber(): number {
    return this.inner.busNumber;
  }

  /** Transactions waiting or running. */
  get queueLength(): number {
    return this.mutex.size;
  }

  /**
   * Run several accesses with the bus held, e.g. a read-modify-write of a register. `fn` gets the unwrapped bus:
   * calling the wrapper's methods from inside would wait for itself.
   */
  exclusive<T>(fn: (bus: I2cBus) => Promise<T>): Promise<T> {
    return this.mutex.run(() => fn(this.inner));
  }

  readByte(address: number, command: number): Promise<number> {
    return this.mutex.run(() => this.inner.readByte(address, command));
  }

  writeByte(address: number, command: number, byte: number): Promise<void> {
    return this.mutex.run(() => this.inner.writeByte(address, command, byte));
  }

  readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }> {
    return this.mutex.run(() => this.inner.readI2cBlock(address, command, length, buffer));
  }

  writeI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }> {
    return this.mutex.run(() => this.inner.writeI2cBlock(address, command, length, buffer));
  }

  i2cRead(address: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }> {
    return this.mutex.run(() => this.inner.i2cRead(address, length, buffer));
  }

  i2cWrite(address: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }> {
    return this.mutex.run(() => this.inner.i2cWrite(address, length, buffer));
  }

  /** Waits for queued transactions, then closes the underlying bus once. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return this.mutex.run(() => this.inner.close());
  }
}

/** Wrap unless already wrapped, so layering twice cannot deadlock `exclusive`. */
export function serialize(bus: I2cBus): SerializedI2cBus {
  return bus instanceof SerializedI2cBus ? bus : new SerializedI2cBus(bus);
}
