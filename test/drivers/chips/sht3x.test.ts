import { describe, expect, it } from 'vitest';
import { Sht3x, decodeSht3xMeasurement, sht3xCrc8, sht3xHumidity, sht3xTemperature } from '../../../src/drivers/chips/sht3x.js';
import { ChecksumError, ImplausibleReadingError, NackError } from '../../../src/drivers/errors.js';
import { Sht3xEmulator } from '../../../mocks/chips/sht3x-emulator.js';
import { rig, withSleep } from './helpers.js';

describe('SHT3x protocol', () => {
  it('CRC-8 of 0xBEEF is 0x92 (datasheet example)', () => {
    expect(sht3xCrc8([0xbe, 0xef])).toBe(0x92);
    expect(sht3xCrc8([0x00, 0x00])).toBe(0x81);
  });

  it('converts raw words with the datasheet formulas', () => {
    expect(sht3xTemperature(0)).toBe(-45);
    expect(sht3xTemperature(65535)).toBe(130);
    expect(sht3xHumidity(65535)).toBe(100);
    expect(sht3xTemperature(0x6666)).toBeCloseTo(25, 2);
  });

  it('decodes a frame and checks both CRCs', () => {
    const frame = Buffer.from([0x66, 0x66, sht3xCrc8([0x66, 0x66]), 0x80, 0x00, sht3xCrc8([0x80, 0x00])]);
    const decoded = decodeSht3xMeasurement('dev', frame);
    expect(decoded.temperature).toBeCloseTo(25, 2);
    expect(decoded.humidity).toBeCloseTo(50, 2);
    const badHumidity = Buffer.from(frame);
    badHumidity[5] = badHumidity[5]! ^ 0xff;
    expect(() => decodeSht3xMeasurement('dev', badHumidity)).toThrow(ChecksumError);
    const badTemperature = Buffer.from(frame);
    badTemperature[0] = 0x67;
    expect(() => decodeSht3xMeasurement('dev', badTemperature)).toThrow(/temperature word/);
  });
});

describe('Sht3x driver against the emulator', () => {
  it('sends 0x2400, waits, reads 21.5 °C and 55 %RH within resolution', async () => {
    const { bus, raw, attach, clock } = rig();
    attach(new Sht3xEmulator({ clock, temperature: 21.5, humidity: 55 }));
    const writes: number[][] = [];
    const original = raw.i2cWrite.bind(raw);
    raw.i2cWrite = (address, length, buffer) => {
      writes.push([...buffer.subarray(0, length)]);
      return original(address, length, buffer);
    };
    const sensor = new Sht3x(bus, { clock });
    const reading = await sensor.read();
    expect(writes).toEqual([[0x24, 0x00]]);
    expect(Math.abs(reading.temperature! - 21.5)).toBeLessThan(175 / 65535);
    expect(Math.abs(reading.humidity! - 55)).toBeLessThan(100 / 65535);
  });

  it('a read during the measurement is NACKed (driver that does not wait)', async () => {
    const { bus, attach, clock } = rig();
    attach(new Sht3xEmulator({ clock }));
    await expect(new Sht3x(bus, { clock: withSleep(clock, async () => {}) }).read()).rejects.toMatchObject({ constructor: NackError, code: 'EREMOTEIO' });
  });

  it('low repeatability is faster and still correct', async () => {
    const { bus, attach, clock } = rig();
    attach(new Sht3xEmulator({ clock, address: 0x45, temperature: -10, humidity: 90 }));
    const start = clock.now();
    const reading = await new Sht3x(bus, { address: 0x45, repeatability: 'low', clock }).read();
    expect(clock.now() - start).toBeLessThan(6);
    expect(reading.temperature).toBeCloseTo(-10, 2);
  });

  it('faults: CRC → ChecksumError, 0xFFFF → ImplausibleReadingError, NACK, absent device', async () => {
    const { bus, attach, clock } = rig();
    const emu = attach(new Sht3xEmulator({ clock, temperature: 21.5 }));
    const sensor = new Sht3x(bus, { clock });
    emu.inject({ kind: 'crc' });
    await expect(sensor.read()).rejects.toBeInstanceOf(ChecksumError);
    emu.inject({ kind: 'out-of-range' });
    await expect(sensor.read()).rejects.toBeInstanceOf(ImplausibleReadingError);
    emu.inject({ kind: 'nack', count: 2 });
    await expect(sensor.read()).rejects.toBeInstanceOf(NackError);
    await expect(sensor.read()).rejects.toBeInstanceOf(NackError);
    expect((await sensor.read()).temperature).toBeCloseTo(21.5, 2);
    emu.disconnect();
    await expect(sensor.read()).rejects.toBeInstanceOf(NackError);
    emu.reconnect();
    expect((await sensor.read()).temperature).toBeCloseTo(21.5, 2);
    await expect(new Sht3x(bus, { address: 0x45, clock }).read()).rejects.toBeInstanceOf(NackError);
  });
});
