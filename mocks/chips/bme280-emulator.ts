import {
  compensateHumidity,
  compensatePressure,
  compensateTemperature,
  encodeBme280Calibration,
  type Bme280Calibration,
} from '../../src/drivers/chips/bme280-compensation.js';
import { BME280_REGISTERS as R, bme280MeasurementTime, type Oversampling } from '../../src/drivers/chips/bme280.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { EmulatedI2cChip } from '../i2c/emulator.js';
import { createRoom } from './environment.js';
import { invertMonotonic } from './invert.js';
import { toSignal, type Signal, type SignalInput } from './signal.js';

/** Bosch's worked example trim values (BMP280/BME280 datasheet) for T and P. */
export const BOSCH_EXAMPLE_CALIBRATION: Bme280Calibration = {
  T1: 27504,
  T2: 26435,
  T3: -1000,
  P1: 36477,
  P2: -10685,
  P3: 3024,
  P4: 2855,
  P5: 140,
  P6: -7,
  P7: 15500,
  P8: -14600,
  P9: 6000,
  // The datasheet gives no humidity example; these are trim values typical of production BME280s.
  H: { H1: 75, H2: 362, H3: 0, H4: 313, H5: 50, H6: 30 },
};

export interface Bme280EmulatorOptions {
  address?: number;
  model?: 'bme280' | 'bmp280';
  calibration?: Bme280Calibration;
  temperature?: SignalInput;
  /** hPa */
  pressure?: SignalInput;
  humidity?: SignalInput;
  clock?: Clock;
  seed?: number;
}

const OS_FROM_CODE: readonly Oversampling[] = [0, 1, 2, 4, 8, 16, 16, 16];
const SKIPPED_20 = 0x80000;
const SKIPPED_16 = 0x8000;

/**
 * A BME280/BMP280 at register level: chip id, trim registers, ctrl_hum/ctrl_meas/config, status (measuring and
 * im_update), forced and normal mode, and data registers holding the raw ADC counts that the datasheet compensation
 * turns back into the configured physical values (found by searching the real formulas).
 * Faults: `stuck` repeats the last raw values; `out-of-range` produces raw counts of 0 (an impossible reading);
 * `crc` does not apply (no CRC on this chip).
 */
export class Bme280Emulator extends EmulatedI2cChip {
  readonly name: string;
  readonly model: 'bme280' | 'bmp280';
  readonly calibration: Bme280Calibration;
  private readonly calibTp: Buffer;
  private readonly calibH: Buffer;
  private readonly clock: Clock;
  private signals: { temperature: Signal; pressure: Signal; humidity: Signal };
  private pointer = 0;
  private ctrlHum = 0;
  private ctrlMeas = 0;
  private config = 0;
  private data = Buffer.alloc(8);
  private measuringUntil: number | undefined;
  private imUpdateUntil = 0;
  private latchedHum = 0;
  /** Measurements completed, for tests. */
  measurements = 0;

  constructor(options: Bme280EmulatorOptions = {}) {
    super(options.address ?? 0x76);
    this.model = options.model ?? 'bme280';
    this.name = `${this.model}@0x${this.address.toString(16)}`;
    this.calibration = options.calibration ?? BOSCH_EXAMPLE_CALIBRATION;
    [this.calibTp, this.calibH] = encodeBme280Calibration(this.calibration);
    this.clock = options.clock ?? systemClock;
    const room = createRoom(options.seed ?? 1);
    this.signals = {
      temperature: toSignal(options.temperature ?? room.temperature),
      pressure: toSignal(options.pressure ?? room.pressure),
      humidity: toSignal(options.humidity ?? room.humidity),
    };
    this.powerOn();
  }

  /** Change what the chip senses: numbers are fixed values, Signals vary with time. */
  set(values: { temperature?: SignalInput; pressure?: SignalInput; humidity?: SignalInput }): void {
    for (const key of ['temperature', 'pressure', 'humidity'] as const) {
      const value = values[key];
      if (value !== undefined) this.signals[key] = toSignal(value);
    }
  }

  protected powerOn(): void {
    this.pointer = 0;
    this.ctrlHum = 0;
    this.ctrlMeas = 0;
    this.config = 0;
    this.data = Buffer.from([0x80, 0x00, 0x00, 0x80, 0x00, 0x00, 0x80, 0x00]);
    this.measuringUntil = undefined;
    this.imUpdateUntil = this.clock.now() + 2;
  }

  /** I2C writes are (register, value) pairs; a lone register byte sets the read pointer. */
  write(data: Buffer): void {
    this.settle();
    for (let i = 0; i < data.length; i += 2) {
      const register = data.readUInt8(i);
      this.pointer = register;
      if (i + 1 < data.length) this.writeRegister(register, data.readUInt8(i + 1));
    }
  }

  read(length: number): Buffer {
    this.settle();
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.readRegister((this.pointer + i) & 0xff);
    this.pointer = (this.pointer + length) & 0xff;
    return out;
  }

  private writeRegister(register: number, value: number): void {
    switch (register) {
      case R.reset:
        if (value === 0xb6) this.powerOn();
        break;
      case R.ctrlHum:
        if (this.model === 'bme280') this.ctrlHum = value & 0x07;
        break;
      case R.ctrlMeas:
        this.ctrlMeas = value;
        if ((value & 0x03) !== 0) this.startMeasurement();
        break;
      case R.config:
        this.config = value;
        break;
      default:
        break; // read-only or reserved: ignored, as the chip does
    }
  }

  private readRegister(register: number): number {
    if (register === R.chipId) return this.model === 'bme280' ? 0x60 : 0x58;
    if (register >= R.calibTp && register < R.calibTp + 26) return this.calibTp.readUInt8(register - R.calibTp);
    if (register >= R.calibH && register < R.calibH + 7) return this.model === 'bme280' ? this.calibH.readUInt8(register - R.calibH) : 0;
    if (register >= R.data && register < R.data + 8) return this.data.readUInt8(register - R.data);
    switch (register) {
      case R.ctrlHum:
        return this.ctrlHum;
      case R.status:
        return (this.measuringUntil !== undefined ? 0x08 : 0) | (this.clock.now() < this.imUpdateUntil ? 0x01 : 0);
      case R.ctrlMeas:
        return this.ctrlMeas;
      case R.config:
        return this.config;
      default:
        return 0;
    }
  }

  private oversampling(): { temperature: Oversampling; pressure: Oversampling; humidity: Oversampling } {
    return {
      temperature: OS_FROM_CODE[(this.ctrlMeas >> 5) & 7] as Oversampling,
      pressure: OS_FROM_CODE[(this.ctrlMeas >> 2) & 7] as Oversampling,
      humidity: this.model === 'bme280' ? (OS_FROM_CODE[this.latchedHum] as Oversampling) : 0,
    };
  }

  private startMeasurement(): void {
    this.latchedHum = this.ctrlHum;
    this.measuringUntil = this.clock.now() + bme280MeasurementTime(this.oversampling()).typical;
  }

  /** Complete a measurement whose time has come; forced mode then returns to sleep. */
  private settle(): void {
    if (this.measuringUntil === undefined || this.clock.now() < this.measuringUntil) return;
    const at = this.measuringUntil;
    this.measuringUntil = undefined;
    this.measure(at);
    if ((this.ctrlMeas & 0x03) !== 0x03) this.ctrlMeas &= ~0x03;
    else this.measuringUntil = at + bme280MeasurementTime(this.oversampling()).typical;
  }

  private measure(at: number): void {
    const fault = this.faults.take('stuck', 'out-of-range');
    this.measurements += 1;
    if (fault === 'stuck') return;
    const os = this.oversampling();
    let { adcT, adcP, adcH } = fault === 'out-of-range' ? { adcT: 0, adcP: 0, adcH: 0 } : this.rawFor(at, os);
    if (os.temperature === 0) adcT = SKIPPED_20;
    if (os.pressure === 0) adcP = SKIPPED_20;
    if (os.humidity === 0) adcH = SKIPPED_16;
    this.data.writeUInt8((adcP >> 12) & 0xff, 0);
    this.data.writeUInt8((adcP >> 4) & 0xff, 1);
    this.data.writeUInt8((adcP & 0x0f) << 4, 2);
    this.data.writeUInt8((adcT >> 12) & 0xff, 3);
    this.data.writeUInt8((adcT >> 4) & 0xff, 4);
    this.data.writeUInt8((adcT & 0x0f) << 4, 5);
    this.data.writeUInt16BE(adcH & 0xffff, 6);
  }

  /** Raw counts for the physical values at time `at`, at the resolution the oversampling gives (16 + os-1 bits). */
  private rawFor(at: number, os: { temperature: Oversampling; pressure: Oversampling }): { adcT: number; adcP: number; adcH: number } {
    const c = this.calibration;
    const quantize = (adc: number, osr: Oversampling) => {
      const drop = 20 - Math.min(20, 15 + Math.max(1, Math.log2(osr || 1) + 1));
      return (adc >> drop) << drop;
    };
    const targetT = this.signals.temperature.at(at);
    const adcT = quantize(invertMonotonic((x) => compensateTemperature(x, c).centiCelsius, targetT * 100, 0, 0xfffff), os.temperature);
    const { tFine } = compensateTemperature(adcT, c);
    const targetP = this.signals.pressure.at(at) * 100 * 256;
    const adcP = quantize(invertMonotonic((x) => compensatePressure(x, tFine, c), targetP, 0, 0xfffff), os.pressure);
    const adcH = c.H ? invertMonotonic((x) => compensateHumidity(x, tFine, c), this.signals.humidity.at(at) * 1024, 0, 0xffff) : SKIPPED_16;
    return { adcT, adcP, adcH };
  }
}
