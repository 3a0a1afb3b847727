import { fromOsError } from '../../src/drivers/errors.js';
import { i2cDeviceLabel } from '../../src/drivers/i2c/i2c-device.js';
import type { I2cBus } from '../../src/drivers/types.js';
import type { I2cEmulator } from './emulator.js';
import { osError } from './os-error.js';

const TRANSFER_LOG_LIMIT = 1000;

export interface VirtualBusOptions {
  busNumber?: number;
  /** Simulated duration of each transfer, to make overlapping access observable. 0 = next macrotask. */
  latencyMs?: number;
}

export interface TransferRecord {
  address: number;
  op: string;
  start: number;
  end: number;
}

/**
 * An I2C bus in memory that routes each transfer to the emulator at its address. Nobody at the address, or an
 * emulator that is disconnected → NackError (EREMOTEIO), as i2c-dev reports it. Not serialised itself, like the
 * kernel from the point of view of a user that issues overlapping async calls; wrap it in SerializedI2cBus.
 */
export class VirtualI2cBus implements I2cBus {
  readonly busNumber: number;
  private readonly devices = new Map<number, I2cEmulator>();
  private readonly latencyMs: number;
  private active = 0;
  private closed = false;
  /** Most transfers seen in flight at once. */
  maxConcurrent = 0;
  /** The latest transfers (up to 1000), in order of completion. */
  readonly transfers: TransferRecord[] = [];

  constructor(options: VirtualBusOptions = {}) {
    this.busNumber = options.busNumber ?? 1;
    this.latencyMs = options.latencyMs ?? 0;
  }

  attach<T extends I2cEmulator>(emulator: T): T {
    if (this.devices.has(emulator.address)) throw new Error(`address 0x${emulator.address.toString(16)} already taken on the virtual bus`);
    this.devices.set(emulator.address, emulator);
    return emulator;
  }

  detach(address: number): void {
    this.devices.delete(address);
  }

  /** Addresses that answer, like `i2cdetect -y 1`. */
  scan(): number[] {
    return [...this.devices.values()].filter((d) => d.faults.connected).map((d) => d.address).sort((a, b) => a - b);
  }

  readByte(address: number, command: number): Promise<number> {
    return this.transfer(address, 'readByte', (chip) => {
      chip.write(Buffer.from([command]));
      return chip.read(1).readUInt8(0);
    });
  }

  writeByte(address: number, command: number, byte: number): Promise<void> {
    return this.transfer(address, 'writeByte', (chip) => chip.write(Buffer.from([command, byte])));
  }

  readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }> {
    return this.transfer(address, 'readI2cBlock', (chip) => {
      chip.write(Buffer.from([command]));
      const data = chip.read(length);
      data.copy(buffer, 0, 0, length);
      return { bytesRead: data.length, buffer };
    });
  }

  writeI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }> {
    return this.transfer(address, 'writeI2cBlock', (chip) => {
      chip.write(Buffer.concat([Buffer.from([command]), buffer.subarray(0, length)]));
      return { bytesWritten: length, buffer };
    });
  }

  i2cRead(address: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }> {
    return this.transfer(address, 'i2cRead', (chip) => {
      const data = chip.read(length);
      data.copy(buffer, 0, 0, length);
      return { bytesRead: data.length, buffer };
    });
  }

  i2cWrite(address: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }> {
    return this.transfer(address, 'i2cWrite', (chip) => {
      chip.write(Buffer.from(buffer.subarray(0, length)));
      return { bytesWritten: length, buffer };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async transfer<T>(address: number, op: string, run: (chip: I2cEmulator) => T): Promise<T> {
    const label = i2cDeviceLabel(this.busNumber, address);
    const start = performance.now();
    this.active += 1;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.active);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      if (this.closed) throw Object.assign(osError('EBADF'), { message: 'bus closed' });
      const chip = this.devices.get(address);
      if (!chip || !chip.faults.connected) throw osError('EREMOTEIO');
      const fault = chip.faults.take('nack', 'eio', 'timeout');
      if (fault === 'nack') throw osError('EREMOTEIO');
      if (fault === 'eio') throw osError('EIO');
      if (fault === 'timeout') throw osError('ETIMEDOUT');
      return run(chip);
    } catch (error) {
      throw fromOsError(label, error, op);
    } finally {
      this.active -= 1;
      this.transfers.push({ address, op, start, end: performance.now() });
      if (this.transfers.length > TRANSFER_LOG_LIMIT) this.transfers.splice(0, this.transfers.length - TRANSFER_LOG_LIMIT);
    }
  }
}
