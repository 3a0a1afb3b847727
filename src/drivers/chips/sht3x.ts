import { ChecksumError, ImplausibleReadingError } from '../errors.js';
import { I2cDevice } from '../i2c/i2c-device.js';
import type { I2cBus, Sensor, SensorChannel } from '../types.js';
import { systemClock, type Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { channelsOfKind } from '../channels.js';

/** Sensirion CRC-8: polynomial 0x31, init 0xFF, no reflection, no final XOR. crc8([0xBE, 0xEF]) = 0x92. */
export function sht3xCrc8(bytes: ArrayLike<number>): number {
  let crc = 0xff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i] as number;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

export type Sht3xRepeatability = 'high' | 'medium' | 'low';

/** Single-shot commands with clock stretching disabled, and their maximum duration in ms (datasheet table 4). */
const SHT3X_SINGLE_SHOT: Record<Sht3xRepeatability, { command: number; maxMs: number }> = {
  high: { command: 0x2400, maxMs: 15.5 },
  medium: { command: 0x240b, maxMs: 6.5 },
  low: { command: 0x2416, maxMs: 4.5 },
};

export const sht3xTemperature = (raw: number): number => -45 + (175 * raw) / 65535;
export const sht3xHumidity = (raw: number): number => (100 * raw) / 65535;

export interface Sht3xOptions {
  address?: 0x44 | 0x45 | number;
  repeatability?: Sht3xRepeatability;
  logger?: Logger;
  /** Waits between starting a conversion and reading its result (default systemClock). */
  clock?: Clock;
}

/** Decode the 6-byte answer: T msb, lsb, crc, RH msb, lsb, crc. */
export function decodeSht3xMeasurement(device: string, data: Buffer): { temperature: number; humidity: number } {
  const words = [0, 3].map((offset) => {
    const crc = sht3xCrc8(data.subarray(offset, offset + 2));
    const sent = data.readUInt8(offset + 2);
    if (crc !== sent) {
      throw new ChecksumError(device, `CRC mismatch on ${offset === 0 ? 'temperature' : 'humidity'} word: got 0x${sent.toString(16)}, computed 0x${crc.toString(16)}`);
    }
    return data.readUInt16BE(offset);
  });
  return { temperature: sht3xTemperature(words[0] as number), humidity: sht3xHumidity(words[1] as number) };
}

/** Sensirion SHT30/31/35: one single-shot measurement per read(), no clock stretching (the Pi handles it badly). */
export class Sht3x implements Sensor {
  readonly kind = 'sht3x';
  readonly channels: readonly SensorChannel[] = channelsOfKind('sht3x');
  private readonly device: I2cDevice;
  private readonly mode: { command: number; maxMs: number };
  private readonly clock: Clock;

  constructor(bus: I2cBus, options: Sht3xOptions = {}) {
    this.device = new I2cDevice(bus, options.address ?? 0x44);
    this.mode = SHT3X_SINGLE_SHOT[options.repeatability ?? 'high'];
    this.clock = options.clock ?? systemClock;
  }

  async read(): Promise<Record<string, number>> {
    await this.device.write([this.mode.command >> 8, this.mode.command & 0xff]);
    // While measuring the chip NACKs its read address, so wait the datasheet maximum.
    await this.clock.sleep(Math.ceil(this.mode.maxMs));
    const data = await this.device.read(6);
    const result = decodeSht3xMeasurement(this.device.label, data);
    // Raw 0xFFFF (130 °C) or 0x0000 (-45 °C) words are what a glitching bus delivers; the chip's range is -40..125 °C.
    if (result.temperature < -40 || result.temperature > 125) {
      throw new ImplausibleReadingError(this.device.label, `temperature ${result.temperature.toFixed(2)} °C outside -40..125 °C`);
    }
    return result;
  }

  async close(): Promise<void> {}
}
