import { HardwareError, HardwareIoError, fromOsError } from '../errors.js';
import type { I2cBus } from '../types.js';

export function formatAddress(address: number): string {
  return `0x${address.toString(16).padStart(2, '0')}`;
}

export function i2cDeviceLabel(busNumber: number, address: number): string {
  return `i2c-${busNumber}@${formatAddress(address)}`;
}

/** 7-bit addresses outside the reserved ranges. */
function assertI2cAddress(address: number): void {
  if (!Number.isInteger(address) || address < 0x03 || address > 0x77) {
    throw new RangeError(`invalid 7-bit I2C address ${String(address)}`);
  }
}

/**
 * One chip at one address on a bus: register and raw-message helpers for chip drivers. Every failure comes out as a
 * HardwareError labelled `i2c-<bus>@0x<addr>`; short transfers become HardwareIoError.
 */
export class I2cDevice {
  readonly label: string;

  constructor(
    readonly bus: I2cBus,
    readonly address: number,
  ) {
    assertI2cAddress(address);
    this.label = i2cDeviceLabel(bus.busNumber, address);
  }

  readRegister(register: number): Promise<number> {
    return this.guard(`read register ${formatAddress(register)}`, () => this.bus.readByte(this.address, register));
  }

  writeRegister(register: number, value: number): Promise<void> {
    return this.guard(`write register ${formatAddress(register)}`, () => this.bus.writeByte(this.address, register, value & 0xff));
  }

  async readRegisters(register: number, length: number): Promise<Buffer> {
    const what = `read ${length} bytes from ${formatAddress(register)}`;
    const { bytesRead, buffer } = await this.guard(what, () =>
      this.bus.readI2cBlock(this.address, register, length, Buffer.alloc(length)),
    );
    this.checkLength(what, bytesRead, length);
    return buffer.subarray(0, length);
  }

  async writeRegisters(register: number, bytes: readonly number[]): Promise<void> {
    const what = `write ${bytes.length} bytes to ${formatAddress(register)}`;
    const { bytesWritten } = await this.guard(what, () =>
      this.bus.writeI2cBlock(this.address, register, bytes.length, Buffer.from(bytes)),
    );
    this.checkLength(what, bytesWritten, bytes.length);
  }

  /** A plain I2C write message (command-based chips: SHT3x, BH1750). */
  async write(bytes: readonly number[]): Promise<void> {
    const what = `write ${bytes.length} bytes`;
    const { bytesWritten } = await this.guard(what, () => this.bus.i2cWrite(this.address, bytes.length, Buffer.from(bytes)));
    this.checkLength(what, bytesWritten, bytes.length);
  }

  /** A plain I2C read message. */
  async read(length: number): Promise<Buffer> {
    const what = `read ${length} bytes`;
    const { bytesRead, buffer } = await this.guard(what, () => this.bus.i2cRead(this.address, length, Buffer.alloc(length)));
    this.checkLength(what, bytesRead, length);
    return buffer.subarray(0, length);
  }

  private checkLength(what: string, actual: number, expected: number): void {
    if (actual !== expected) throw new HardwareIoError(this.label, `${what}: short transfer (${actual} of ${expected} bytes)`);
  }

  private async guard<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      if (error instanceof HardwareError) throw error;
      throw fromOsError(this.label, error, what);
    }
  }
}
