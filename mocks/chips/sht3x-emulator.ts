import { sht3xCrc8 } from '../../src/drivers/chips/sht3x.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { EmulatedI2cChip } from '../i2c/emulator.js';
import { osError } from '../i2c/os-error.js';
import { createRoom } from './environment.js';
import { toSignal, type Signal, type SignalInput } from './signal.js';

export interface Sht3xEmulatorOptions {
  address?: number;
  temperature?: SignalInput;
  humidity?: SignalInput;
  clock?: Clock;
  seed?: number;
}

/** Single-shot commands → typical duration in ms (datasheet table 4) and whether clock stretching is on. */
const MEASURE: Record<number, { ms: number; stretch: boolean }> = {
  0x2400: { ms: 12.5, stretch: false },
  0x240b: { ms: 4.5, stretch: false },
  0x2416: { ms: 2.5, stretch: false },
  0x2c06: { ms: 12.5, stretch: true },
  0x2c0d: { ms: 4.5, stretch: true },
  0x2c10: { ms: 2.5, stretch: true },
};
const SOFT_RESET = 0x30a2;
const READ_STATUS = 0xf32d;
const CLEAR_STATUS = 0x3041;
const HEATER_ON = 0x306d;
const HEATER_OFF = 0x3066;

const sht3xRawTemperature = (celsius: number): number => Math.round(((celsius + 45) * 65535) / 175);
const sht3xRawHumidity = (percent: number): number => Math.round((percent * 65535) / 100);
const clampWord = (v: number) => Math.min(0xffff, Math.max(0, v));

/**
 * A Sensirion SHT3x speaking its 16-bit command protocol. Reads NACK while a measurement runs (without clock
 * stretching), or when there is nothing to read; results carry real CRC-8s. Unknown commands NACK and set the
 * status register's command-failed bit.
 * Faults: `crc` corrupts the temperature CRC, `stuck` repeats the previous words, `out-of-range` sends 0xFFFF words.
 */
export class Sht3xEmulator extends EmulatedI2cChip {
  readonly name: string;
  private readonly clock: Clock;
  private signals: { temperature: Signal; humidity: Signal };
  private measuringUntil: number | undefined;
  private stretch = false;
  private output: Buffer | undefined;
  private lastWords: [number, number] = [0x6666, 0x6666];
  private status = 0x0010; // system reset detected
  private heater = false;

  constructor(options: Sht3xEmulatorOptions = {}) {
    super(options.address ?? 0x44);
    this.name = `sht3x@0x${this.address.toString(16)}`;
    this.clock = options.clock ?? systemClock;
    const room = createRoom(options.seed ?? 2);
    this.signals = { temperature: toSignal(options.temperature ?? room.temperature), humidity: toSignal(options.humidity ?? room.humidity) };
  }

  set(values: { temperature?: SignalInput; humidity?: SignalInput }): void {
    if (values.temperature !== undefined) this.signals.temperature = toSignal(values.temperature);
    if (values.humidity !== undefined) this.signals.humidity = toSignal(values.humidity);
  }

  get heaterOn(): boolean {
    return this.heater;
  }

  protected powerOn(): void {
    this.measuringUntil = undefined;
    this.output = undefined;
    this.status = 0x0010;
    this.heater = false;
  }

  write(data: Buffer): void {
    if (this.busy()) throw osError('EREMOTEIO');
    if (data.length < 2) throw osError('EREMOTEIO');
    const command = data.readUInt16BE(0);
    const measure = MEASURE[command];
    this.output = undefined;
    if (measure) {
      this.measuringUntil = this.clock.now() + measure.ms;
      this.stretch = measure.stretch;
      return;
    }
    switch (command) {
      case SOFT_RESET:
        this.powerOn();
        return;
      case READ_STATUS: {
        const word = this.status | (this.heater ? 0x2000 : 0);
        this.output = this.withCrc(word >> 8, word & 0xff);
        return;
      }
      case CLEAR_STATUS:
        this.status = 0;
        return;
      case HEATER_ON:
      case HEATER_OFF:
        this.heater = command === HEATER_ON;
        return;
      default:
        this.status |= 0x0002;
        throw osError('EREMOTEIO');
    }
  }

  read(length: number): Buffer {
    if (this.measuringUntil !== undefined) {
      if (this.busy() && !this.stretch) throw osError('EREMOTEIO');
      this.output = this.measure(Math.max(this.clock.now(), this.measuringUntil));
      this.measuringUntil = undefined;
    }
    const output = this.output;
    if (!output) throw osError('EREMOTEIO');
    this.output = undefined;
    // The master may stop early; past the end the bus reads 0xFF.
    return Buffer.concat([output, Buffer.alloc(Math.max(0, length - output.length), 0xff)]).subarray(0, length);
  }

  private busy(): boolean {
    return this.measuringUntil !== undefined && this.clock.now() < this.measuringUntil;
  }

  private measure(at: number): Buffer {
    const fault = this.faults.take('stuck', 'out-of-range', 'crc');
    let words: [number, number];
    if (fault === 'stuck') words = this.lastWords;
    else if (fault === 'out-of-range') words = [0xffff, 0xffff];
    else words = [clampWord(sht3xRawTemperature(this.signals.temperature.at(at))), clampWord(sht3xRawHumidity(this.signals.humidity.at(at)))];
    this.lastWords = words;
    const t = this.withCrc(words[0] >> 8, words[0] & 0xff);
    if (fault === 'crc') t[2] = (t[2] as number) ^ 0x01;
    return Buffer.concat([t, this.withCrc(words[1] >> 8, words[1] & 0xff)]);
  }

  private withCrc(msb: number, lsb: number): Buffer {
    return Buffer.from([msb, lsb, sht3xCrc8([msb, lsb])]);
  }
}
