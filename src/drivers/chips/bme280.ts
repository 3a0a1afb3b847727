import { DeviceNotPresentError, HardwareIoError, HardwareTimeoutError, ImplausibleReadingError } from '../errors.js';
import { I2cDevice, formatAddress } from '../i2c/i2c-device.js';
import type { I2cBus, Sensor, SensorChannel } from '../types.js';
import { systemClock, type Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { channelsOfKind } from '../channels.js';
import {
  compensateHumidity,
  compensatePressure,
  compensateTemperature,
  parseBme280Calibration,
  type Bme280Calibration,
} from './bme280-compensation.js';

export const BME280_REGISTERS = {
  calibTp: 0x88,
  chipId: 0xd0,
  reset: 0xe0,
  calibH: 0xe1,
  ctrlHum: 0xf2,
  status: 0xf3,
  ctrlMeas: 0xf4,
  config: 0xf5,
  data: 0xf7,
} as const;

const BME280_CHIP_ID = 0x60;
/** Mass-production BMP280; 0x56 and 0x57 are engineering samples. */
const BMP280_CHIP_IDS: readonly number[] = [0x58, 0x56, 0x57];
const BME280_RESET_WORD = 0xb6;
const STATUS_MEASURING = 0x08;
const STATUS_IM_UPDATE = 0x01;
/** Value of a skipped (oversampling 0) or not-yet-measured ADC. */
const BME280_SKIPPED_20BIT = 0x80000;
const BME280_SKIPPED_16BIT = 0x8000;

export type Bme280Model = 'bme280' | 'bmp280';
export type Oversampling = 0 | 1 | 2 | 4 | 8 | 16;

export interface Bme280Options {
  address?: 0x76 | 0x77 | number;
  /** Expected model; the chip id decides, a mismatch is logged. */
  model?: Bme280Model;
  oversampling?: { temperature?: Oversampling; pressure?: Oversampling; humidity?: Oversampling };
  logger?: Logger;
  /** Waits between starting a conversion and reading its result (default systemClock). */
  clock?: Clock;
}

const OVERSAMPLING_CODE: Record<Oversampling, number> = { 0: 0, 1: 1, 2: 2, 4: 3, 8: 4, 16: 5 };

/** Datasheet appendix B, t_measure in ms: typical and maximum. */
export function bme280MeasurementTime(os: { temperature: Oversampling; pressure: Oversampling; humidity: Oversampling }): {
  typical: number;
  max: number;
} {
  const typ = (n: Oversampling, extra: number) => (n === 0 ? 0 : 2 * n + extra);
  const max = (n: Oversampling, extra: number) => (n === 0 ? 0 : 2.3 * n + extra);
  return {
    typical: 1 + typ(os.temperature, 0) + typ(os.pressure, 0.5) + typ(os.humidity, 0.5),
    max: 1.25 + max(os.temperature, 0) + max(os.pressure, 0.575) + max(os.humidity, 0.575),
  };
}

function bme280Channels(model: Bme280Model): readonly SensorChannel[] {
  return channelsOfKind(model);
}

function modelOfChipId(id: number): Bme280Model | undefined {
  if (id === BME280_CHIP_ID) return 'bme280';
  if (BMP280_CHIP_IDS.includes(id)) return 'bmp280';
  return undefined;
}

const MAX_STATUS_POLLS = 10;

/**
 * Bosch BME280 (temperature, pressure, humidity) or BMP280 (no humidity) in forced mode: each read() starts one
 * measurement, waits for it and compensates with the chip's own trim values, which are read once.
 */
export class Bme280 implements Sensor {
  readonly kind: Bme280Model;
  readonly channels: readonly SensorChannel[];
  private readonly device: I2cDevice;
  private readonly os: { temperature: Oversampling; pressure: Oversampling; humidity: Oversampling };
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private calibration: Bme280Calibration | undefined;
  private chipModel: Bme280Model | undefined;

  /** Probe the chip id first, so kind and channels match the chip actually fitted. */
  static async open(bus: I2cBus, options: Bme280Options = {}): Promise<Bme280> {
    const device = new I2cDevice(bus, options.address ?? 0x76);
    const id = await device.readRegister(BME280_REGISTERS.chipId);
    const model = modelOfChipId(id);
    if (!model) throw new DeviceNotPresentError(device.label, `chip id ${formatAddress(id)} is neither a BME280 (0x60) nor a BMP280 (0x58)`);
    if (options.model && options.model !== model) {
      options.logger?.warn({ device: device.label, configured: options.model, detected: model }, 'configured sensor model differs from the chip id; using the chip');
    }
    const sensor = new Bme280(bus, { ...options, model });
    await sensor.init();
    return sensor;
  }

  constructor(bus: I2cBus, options: Bme280Options = {}) {
    this.device = new I2cDevice(bus, options.address ?? 0x76);
    this.kind = options.model ?? 'bme280';
    this.channels = bme280Channels(this.kind);
    this.os = {
      temperature: options.oversampling?.temperature ?? 1,
      pressure: options.oversampling?.pressure ?? 1,
      humidity: this.kind === 'bme280' ? (options.oversampling?.humidity ?? 1) : 0,
    };
    if (this.os.temperature === 0) throw new RangeError('temperature oversampling cannot be 0: pressure and humidity need it');
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger?.child({ module: 'bme280', device: this.device.label });
  }

  get address(): number {
    return this.device.address;
  }

  /** Chip id check, soft reset, trim registers. Done by the first read() if not called. */
  async init(): Promise<void> {
    const id = await this.device.readRegister(BME280_REGISTERS.chipId);
    const model = modelOfChipId(id);
    if (!model) throw new DeviceNotPresentError(this.device.label, `chip id ${formatAddress(id)} is neither a BME280 (0x60) nor a BMP280 (0x58)`);
    if (model !== this.kind) {
      this.logger?.warn({ configured: this.kind, detected: model }, 'chip id does not match the configured model');
    }
    await this.device.writeRegister(BME280_REGISTERS.reset, BME280_RESET_WORD);
    await this.clock.sleep(2);
    for (let poll = 0; ; poll++) {
      const status = await this.device.readRegister(BME280_REGISTERS.status);
      if ((status & STATUS_IM_UPDATE) === 0) break;
      if (poll >= MAX_STATUS_POLLS) throw new HardwareTimeoutError(this.device.label, 'trim registers still loading after reset');
      await this.clock.sleep(1);
    }
    const tp = await this.device.readRegisters(BME280_REGISTERS.calibTp, 26);
    const h = model === 'bme280' ? await this.device.readRegisters(BME280_REGISTERS.calibH, 7) : undefined;
    this.calibration = parseBme280Calibration(tp, h);
    this.chipModel = model;
    // Filter off, standby irrelevant in forced mode.
    await this.device.writeRegister(BME280_REGISTERS.config, 0x00);
    this.logger?.debug({ model, calibration: this.calibration }, 'calibration read');
  }

  async read(): Promise<Record<string, number>> {
    if (!this.calibration) await this.init();
    const calibration = this.calibration as Bme280Calibration;
    const hasHumidity = this.chipModel === 'bme280' && this.kind === 'bme280';
    const os = { ...this.os, humidity: hasHumidity ? this.os.humidity : 0 } as const;

    // ctrl_hum only takes effect with the following ctrl_meas write.
    if (hasHumidity) await this.device.writeRegister(BME280_REGISTERS.ctrlHum, OVERSAMPLING_CODE[os.humidity]);
    const forced = 0b01;
    await this.device.writeRegister(
      BME280_REGISTERS.ctrlMeas,
      (OVERSAMPLING_CODE[os.temperature] << 5) | (OVERSAMPLING_CODE[os.pressure] << 2) | forced,
    );
    await this.waitForMeasurement(bme280MeasurementTime(os));

    const raw = await this.device.readRegisters(BME280_REGISTERS.data, hasHumidity ? 8 : 6);
    const adcP = (raw.readUInt8(0) << 12) | (raw.readUInt8(1) << 4) | (raw.readUInt8(2) >> 4);
    const adcT = (raw.readUInt8(3) << 12) | (raw.readUInt8(4) << 4) | (raw.readUInt8(5) >> 4);
    if (adcT === BME280_SKIPPED_20BIT) throw new HardwareIoError(this.device.label, 'no temperature measurement (ADC reads the reset value 0x80000)');

    const { tFine, centiCelsius } = compensateTemperature(adcT, calibration);
    const result: Record<string, number> = { temperature: centiCelsius / 100 };
    if (os.pressure !== 0 && adcP !== BME280_SKIPPED_20BIT) {
      result.pressure = compensatePressure(adcP, tFine, calibration) / 256 / 100;
    }
    if (hasHumidity) {
      const adcH = raw.readUInt16BE(6);
      if (adcH !== BME280_SKIPPED_16BIT) result.humidity = compensateHumidity(adcH, tFine, calibration) / 1024;
    }
    this.checkPlausible(result);
    return result;
  }

  async close(): Promise<void> {
    // The chip returns to sleep mode by itself after a forced measurement; the bus belongs to the caller.
  }

  /** Outside the chip's operating range, the reading is corrupt (e.g. all-zero data after a brown-out). */
  private checkPlausible(result: Record<string, number>): void {
    const { temperature, pressure } = result;
    if (temperature !== undefined && (temperature < -40 || temperature > 85)) {
      throw new ImplausibleReadingError(this.device.label, `temperature ${temperature} °C outside -40..85 °C`);
    }
    if (pressure !== undefined && (pressure < 300 || pressure > 1100)) {
      throw new ImplausibleReadingError(this.device.label, `pressure ${pressure.toFixed(2)} hPa outside 300..1100 hPa`);
    }
  }

  private async waitForMeasurement(time: { typical: number; max: number }): Promise<void> {
    await this.clock.sleep(Math.ceil(time.typical));
    const polls = Math.ceil(time.max - time.typical) + MAX_STATUS_POLLS;
    for (let poll = 0; poll < polls; poll++) {
      const status = await this.device.readRegister(BME280_REGISTERS.status);
      if ((status & STATUS_MEASURING) === 0) return;
      await this.clock.sleep(1);
    }
    throw new HardwareTimeoutError(this.device.label, `measurement not finished after ${polls} status polls`);
  }
}
