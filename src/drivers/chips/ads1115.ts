import { HardwareTimeoutError } from '../errors.js';
import { I2cDevice } from '../i2c/i2c-device.js';
import type { I2cBus, Sensor, SensorChannel } from '../types.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { voltageChannel } from '../channels.js';

const ADS1115_REGISTERS = { conversion: 0x00, config: 0x01, loThresh: 0x02, hiThresh: 0x03 } as const;

/** Full-scale range in volts → PGA bits [11:9]. */
const ADS1115_PGA: Record<string, number> = { '6.144': 0, '4.096': 1, '2.048': 2, '1.024': 3, '0.512': 4, '0.256': 5 };
export type Ads1115FullScale = 6.144 | 4.096 | 2.048 | 1.024 | 0.512 | 0.256;
export const ADS1115_FULL_SCALES: readonly Ads1115FullScale[] = [6.144, 4.096, 2.048, 1.024, 0.512, 0.256];

/** Samples per second → DR bits [7:5]. */
export const ADS1115_DATA_RATES: readonly number[] = [8, 16, 32, 64, 128, 250, 475, 860];

const ADS1115_OS = 0x8000;
const ADS1115_MODE_SINGLE = 0x0100;
const ADS1115_COMP_DISABLE = 0x0003;

export type Ads1115Input = 0 | 1 | 2 | 3;

export interface Ads1115Options {
  address?: 0x48 | 0x49 | 0x4a | 0x4b | number;
  /** Single-ended inputs to read (AINx against GND), one channel `voltage_<x>` each. Default [0]. */
  inputs?: readonly Ads1115Input[];
  /** Full-scale range (PGA) in volts. Default 4.096 V, which covers 3.3 V signals. */
  fullScale?: Ads1115FullScale;
  /** Per-input override of fullScale. */
  fullScaleByInput?: Partial<Record<Ads1115Input, Ads1115FullScale>>;
  /** Samples per second; default 128 (7.8 ms per conversion). */
  dataRate?: number;
  /** Waits between starting a conversion and reading its result (default systemClock). */
  clock?: Clock;
}

/** The config word for one single-shot conversion of AIN<input> against GND. */
export function ads1115SingleShotConfig(input: Ads1115Input, fullScale: Ads1115FullScale, dataRate: number): number {
  const pga = ADS1115_PGA[fullScale.toFixed(3)];
  const dr = ADS1115_DATA_RATES.indexOf(dataRate);
  if (pga === undefined) throw new RangeError(`ADS1115 full scale must be one of ${ADS1115_FULL_SCALES.join(', ')} V`);
  if (dr < 0) throw new RangeError(`ADS1115 data rate must be one of ${ADS1115_DATA_RATES.join(', ')} SPS`);
  const mux = 0b100 + input;
  return ADS1115_OS | (mux << 12) | (pga << 9) | ADS1115_MODE_SINGLE | (dr << 5) | ADS1115_COMP_DISABLE;
}

export const ads1115Volts = (raw: number, fullScale: number): number => (raw * fullScale) / 32768;

const MAX_OS_POLLS = 10;

/** TI ADS1115 16-bit ADC: one single-shot conversion per configured input on each read(). */
export class Ads1115 implements Sensor {
  readonly kind = 'ads1115';
  readonly channels: readonly SensorChannel[];
  private readonly device: I2cDevice;
  private readonly inputs: readonly { input: Ads1115Input; fullScale: Ads1115FullScale; config: number }[];
  private readonly conversionMs: number;
  private readonly clock: Clock;

  constructor(bus: I2cBus, options: Ads1115Options = {}) {
    this.device = new I2cDevice(bus, options.address ?? 0x48);
    const dataRate = options.dataRate ?? 128;
    const inputs = options.inputs ?? [0];
    if (inputs.length === 0 || inputs.some((i) => ![0, 1, 2, 3].includes(i))) throw new RangeError('ADS1115 inputs must be 0..3');
    this.inputs = [...new Set(inputs)].map((input) => {
      const fullScale = options.fullScaleByInput?.[input] ?? options.fullScale ?? 4.096;
      return { input, fullScale, config: ads1115SingleShotConfig(input, fullScale, dataRate) };
    });
    this.channels = this.inputs.map(({ input }) => voltageChannel(input));
    // The internal oscillator is specified to ±10 %.
    this.conversionMs = Math.ceil((1000 / dataRate) * 1.1);
    this.clock = options.clock ?? systemClock;
  }

  async read(): Promise<Record<string, number>> {
    const result: Record<string, number> = {};
    for (const { input, fullScale, config } of this.inputs) {
      result[`voltage_${input}`] = ads1115Volts(await this.convert(config), fullScale);
    }
    return result;
  }

  async close(): Promise<void> {}

  private async convert(config: number): Promise<number> {
    await this.device.writeRegisters(ADS1115_REGISTERS.config, [config >> 8, config & 0xff]);
    await this.clock.sleep(this.conversionMs);
    for (let poll = 0; ; poll++) {
      const status = (await this.device.readRegisters(ADS1115_REGISTERS.config, 2)).readUInt16BE(0);
      if (status & ADS1115_OS) break;
      if (poll >= MAX_OS_POLLS) throw new HardwareTimeoutError(this.device.label, 'conversion did not complete (OS bit still 0)');
      await this.clock.sleep(1);
    }
    return (await this.device.readRegisters(ADS1115_REGISTERS.conversion, 2)).readInt16BE(0);
  }
}
