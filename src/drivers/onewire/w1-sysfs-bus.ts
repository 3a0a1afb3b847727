import { join } from 'node:path';
import { ChecksumError, HardwareIoError, ImplausibleReadingError, fromOsError } from '../errors.js';
import type { OneWireBus } from '../types.js';
import type { Logger } from '../../util/logger.js';
import { nodeSysfsReader, type SysfsReader } from './sysfs-reader.js';
import { parseW1Slave } from './w1-slave.js';

export interface W1SysfsBusOptions {
  /** `/sys` on a Pi; a temporary tree in tests. */
  sysfsRoot?: string;
  /** `w1_slave` (with the kernel's CRC verdict, default) or the newer plain `temperature` file. */
  source?: 'w1_slave' | 'temperature';
  fs?: SysfsReader;
  logger?: Logger;
}

/** The DS18B20 power-on value of the temperature register: no conversion happened (often a power problem). */
const DS18B20_POWER_ON_MILLI = 85_000;
const SLAVE_ID = /^[0-9a-f]{2}-[0-9a-f]{12}$/i;

/**
 * The kernel's 1-Wire master (w1-gpio overlay) through sysfs. Each temperature read makes the kernel run a conversion,
 * blocking ~750 ms at 12 bit, so reads are async and callers should not poll faster than that.
 */
export class W1SysfsBus implements OneWireBus {
  private readonly devicesDir: string;
  private readonly source: 'w1_slave' | 'temperature';
  private readonly fs: SysfsReader;
  private readonly logger: Logger | undefined;

  constructor(options: W1SysfsBusOptions = {}) {
    this.devicesDir = join(options.sysfsRoot ?? '/sys', 'bus', 'w1', 'devices');
    this.source = options.source ?? 'w1_slave';
    this.fs = options.fs ?? nodeSysfsReader;
    this.logger = options.logger?.child({ module: 'w1' });
  }

  /** Slave ids such as `28-0000075565ef` (bus masters excluded). None when the w1 overlay is not loaded. */
  async list(): Promise<string[]> {
    try {
      return (await this.fs.readdir(this.devicesDir)).filter((name) => SLAVE_ID.test(name)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fromOsError('w1', error, `list ${this.devicesDir}`);
    }
  }

  /** °C. 85 °C right after power-on is only believed when an immediate second conversion says the same. */
  async readTemperature(deviceId: string): Promise<number> {
    const device = `w1:${deviceId}`;
    const first = await this.readMilli(deviceId, device);
    if (first !== DS18B20_POWER_ON_MILLI) return this.checkRange(device, first);
    this.logger?.debug({ device }, '85 °C power-on value, converting again');
    const second = await this.readMilli(deviceId, device);
    if (second === DS18B20_POWER_ON_MILLI) return 85;
    return this.checkRange(device, second);
  }

  private checkRange(device: string, milli: number): number {
    if (milli < -55_000 || milli > 125_000) {
      throw new ImplausibleReadingError(device, `${milli / 1000} °C outside the DS18B20 range -55..125 °C`);
    }
    return milli / 1000;
  }

  private async readMilli(deviceId: string, device: string): Promise<number> {
    const path = join(this.devicesDir, deviceId, this.source);
    let text: string;
    try {
      text = await this.fs.readFile(path);
    } catch (error) {
      throw fromOsError(device, error, `read ${path}`);
    }
    if (this.source === 'temperature') return this.parseInteger(device, text);
    let reading;
    try {
      reading = parseW1Slave(text);
    } catch (error) {
      throw new HardwareIoError(device, (error as Error).message, { cause: error });
    }
    if (!reading.crcOk) throw new ChecksumError(device, `kernel reports CRC NO for scratchpad ${reading.scratchpad.map((b) => b.toString(16).padStart(2, '0')).join(' ')}`);
    if (reading.milliCelsius === undefined) throw new HardwareIoError(device, 'w1_slave has no t= value');
    return reading.milliCelsius;
  }

  private parseInteger(device: string, text: string): number {
    const value = Number(text.trim());
    if (text.trim() === '' || !Number.isInteger(value)) throw new HardwareIoError(device, `unparseable temperature ${JSON.stringify(text.trim())}`);
    return value;
  }
}
