import { access, constants } from 'node:fs/promises';
import type { PromisifiedBus } from 'i2c-bus';
import { BackendUnavailableError, HardwareError, fromOsError } from '../errors.js';
import type { I2cBus } from '../types.js';
import type { Logger } from '../../util/logger.js';
import { i2cDeviceLabel } from './i2c-device.js';
import { SerializedI2cBus } from './serialized-bus.js';

export interface I2cBusModule {
  openPromisified(busNumber: number, options?: { forceAccess?: boolean }): Promise<PromisifiedBus>;
}

export interface OpenI2cBusOptions {
  logger?: Logger;
  /** Loads the `i2c-bus` module; replaced in tests. */
  load?: () => Promise<I2cBusModule>;
  /** Checked up front, because i2c-bus itself only opens the node at the first transfer. Default `/dev/i2c-<n>`. */
  devicePath?: string;
}

async function loadI2cBus(): Promise<I2cBusModule> {
  const mod = await import('i2c-bus');
  return (mod.default as I2cBusModule | undefined) ?? mod;
}

/**
 * Open `/dev/i2c-<busNumber>` through the optional native `i2c-bus` package, serialised. Missing package or native
 * binding → BackendUnavailableError; missing device node → DeviceNotPresentError (enable I2C: docs/sensors.md).
 */
export async function openI2cBus(busNumber: number, options: OpenI2cBusOptions = {}): Promise<SerializedI2cBus> {
  const device = `i2c-${busNumber}`;
  let module: I2cBusModule;
  try {
    module = await (options.load ?? loadI2cBus)();
  } catch (error) {
    throw new BackendUnavailableError(device, `the optional i2c-bus package is not usable (${error instanceof Error ? error.message : String(error)})`, {
      cause: error,
    });
  }
  const devicePath = options.devicePath ?? `/dev/i2c-${busNumber}`;
  let raw: PromisifiedBus;
  try {
    await access(devicePath, constants.R_OK | constants.W_OK);
    raw = await module.openPromisified(busNumber);
  } catch (error) {
    throw fromOsError(device, error, `open ${devicePath}`);
  }
  options.logger?.child({ module: 'i2c' }).debug({ busNumber }, 'i2c bus opened');
  return new SerializedI2cBus(new I2cBusBackend(busNumber, raw));
}

/** Adapts i2c-bus's PromisifiedBus, turning errno errors into typed errors naming the bus and address. */
class I2cBusBackend implements I2cBus {
  constructor(
    readonly busNumber: number,
    private readonly raw: PromisifiedBus,
  ) {}

  readByte(address: number, command: number): Promise<number> {
    return this.call(address, 'readByte', () => this.raw.readByte(address, command));
  }

  writeByte(address: number, command: number, byte: number): Promise<void> {
    return this.call(address, 'writeByte', () => this.raw.writeByte(address, command, byte));
  }

  readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }> {
    return this.call(address, 'readI2cBlock', () => this.raw.readI2cBlock(address, command, length, buffer));
  }

  writeI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }> {
    return this.call(address, 'writeI2cBlock', () => this.raw.writeI2cBlock(address, command, length, buffer));
  }

  i2cRead(address: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }> {
    return this.call(address, 'i2cRead', () => this.raw.i2cRead(address, length, buffer));
  }

  i2cWrite(address: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }> {
    return this.call(address, 'i2cWrite', () => this.raw.i2cWrite(address, length, buffer));
  }

  async close(): Promise<void> {
    try {
      await this.raw.close();
    } catch (error) {
      throw fromOsError(`i2c-${this.busNumber}`, error, 'close');
    }
  }

  private async call<T>(address: number, what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      if (error instanceof HardwareError) throw error;
      throw fromOsError(i2cDeviceLabel(this.busNumber, address), error, what);
    }
  }
}
