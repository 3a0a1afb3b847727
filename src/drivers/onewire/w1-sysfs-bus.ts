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
/**
 * Register values that, with scratchpad byte 6 = 0x0C, mark a conversion that did not happen: 0x0550 (85.00 °C,
 * the power-on value) and 0x07FF (127.94 °C, too little power). The kernel's w1_therm makes the same check when
 * its `features` bit 1 is set (Documentation/ABI/testing/sysfs-driver-w1_therm); by default it does not.
 */
const FAILED_CONVERSION_REGISTERS = new Set([0x0550, 0x07ff]);
const FAILED_CONVERSION_BYTE6 = 0x0c;
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

  /**
   * °C. From `w1_slave` a failed conversion is recognised by its scratchpad and refused. The plain `temperature`
   * file has no scratchpad, so there 85 °C is converted again and refused if it repeats: a real 85 °C cannot be
   * told from a conversion that keeps failing.
   */
  async readTemperature(deviceId: string): Promise<number> {
    const device = `w1:${deviceId}`;
    const first = await this.readMilli(deviceId, device);
    if (this.source === 'w1_slave' || first !== DS18B20_POWER_ON_MILLI) return this.checkRange(device, first);
    this.logger?.debug({ device }, '85 °C from the temperature file, converting again');
    const second = await this.readMilli(deviceId, device);
    if (second === DS18B20_POWER_ON_MILLI) {
      throw new HardwareIoError(device, '85 °C twice from the temperature file: most likely the conversion failed (power-on value); read w1_slave (source: w1_slave) to tell a real 85 °C apart', { code: 'EIO' });
    }
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
    checkConversion(device, reading.scratchpad);
    return reading.milliCelsius;
  }

  private parseInteger(device: string, text: string): number {
    const value = Number(text.trim());
    if (text.trim() === '' || !Number.isInteger(value)) throw new HardwareIoError(device, `unparseable temperature ${JSON.stringify(text.trim())}`);
    return value;
  }
}

/**
 * Scratchpads that pass the CRC but hold no measurement: nine zero bytes (CRC-8 of zeros is zero; a sensor that
 * stopped answering while DQ was held low reads so), and the failed-conversion signature above.
 */
function checkConversion(device: string, scratchpad: readonly number[]): void {
  const hex = scratchpad.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  if (scratchpad.length >= 9 && scratchpad.every((byte) => byte === 0)) {
    throw new HardwareIoError(device, `all-zero scratchpad (${hex}): the sensor did not answer (its CRC happens to match); check DQ and the pull-up`, { code: 'EIO' });
  }
  const register = ((scratchpad[1] ?? 0) << 8) | (scratchpad[0] ?? 0);
  if (FAILED_CONVERSION_REGISTERS.has(register) && scratchpad[6] === FAILED_CONVERSION_BYTE6) {
    throw new HardwareIoError(
      device,
      `conversion failed: ${register / 16} °C with scratchpad byte 6 = 0x0c (${hex}) is the value before any conversion; usually too little power (parasitic power, weak pull-up, long cable)`,
      { code: 'EIO' },
    );
  }
}
