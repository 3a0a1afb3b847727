import { I2cDevice } from '../i2c/i2c-device.js';
import type { I2cBus, Sensor, SensorChannel } from '../types.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { ILLUMINANCE } from '../channels.js';

const BH1750_COMMANDS = {
  powerDown: 0x00,
  powerOn: 0x01,
  reset: 0x07,
  oneTimeHigh: 0x20,
  /** MTreg high bits: 0b01000_xxx with MT[7:5]. */
  mtHigh: 0x40,
  /** MTreg low bits: 0b011_xxxxx with MT[4:0]. */
  mtLow: 0x60,
} as const;

export const BH1750_DEFAULT_MTREG = 69;
/** Max conversion time of one-time H-resolution mode at the default MTreg (datasheet: 180 ms, typical 120). */
const BH1750_HIGH_RES_MAX_MS = 180;

export interface Bh1750Options {
  address?: 0x23 | 0x5c | number;
  /** Measurement time register, 31..254; higher = more sensitive, slower. */
  mtreg?: number;
  /** Waits between starting a conversion and reading its result (default systemClock). */
  clock?: Clock;
}

export function bh1750Lux(raw: number, mtreg = BH1750_DEFAULT_MTREG): number {
  return (raw / 1.2) * (BH1750_DEFAULT_MTREG / mtreg);
}

/** ROHM BH1750 ambient light sensor in one-time high-resolution mode (1 lx resolution, powers down after each). */
export class Bh1750 implements Sensor {
  readonly kind = 'bh1750';
  readonly channels: readonly SensorChannel[] = [ILLUMINANCE];
  private readonly device: I2cDevice;
  private readonly mtreg: number;
  private readonly clock: Clock;

  constructor(bus: I2cBus, options: Bh1750Options = {}) {
    this.device = new I2cDevice(bus, options.address ?? 0x23);
    this.mtreg = options.mtreg ?? BH1750_DEFAULT_MTREG;
    if (!Number.isInteger(this.mtreg) || this.mtreg < 31 || this.mtreg > 254) throw new RangeError('BH1750 mtreg must be 31..254');
    this.clock = options.clock ?? systemClock;
  }

  async read(): Promise<Record<string, number>> {
    await this.device.write([BH1750_COMMANDS.powerOn]);
    // Rewritten every time: a power cycle silently resets MTreg to 69.
    if (this.mtreg !== BH1750_DEFAULT_MTREG) {
      await this.device.write([BH1750_COMMANDS.mtHigh | (this.mtreg >> 5)]);
      await this.device.write([BH1750_COMMANDS.mtLow | (this.mtreg & 0x1f)]);
    }
    await this.device.write([BH1750_COMMANDS.oneTimeHigh]);
    await this.clock.sleep(Math.ceil((BH1750_HIGH_RES_MAX_MS * this.mtreg) / BH1750_DEFAULT_MTREG));
    const data = await this.device.read(2);
    return { illuminance: bh1750Lux(data.readUInt16BE(0), this.mtreg) };
  }

  async close(): Promise<void> {}
}
