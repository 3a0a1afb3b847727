import { describe, expect, it } from 'vitest';
import {
  compensatePressure,
  compensateTemperature,
  encodeBme280Calibration,
  parseBme280Calibration,
} from '../../../src/drivers/chips/bme280-compensation.js';
import { Bme280, bme280MeasurementTime } from '../../../src/drivers/chips/bme280.js';
import {
  DeviceNotPresentError,
  HardwareIoError,
  HardwareTimeoutError,
  ImplausibleReadingError,
  NackError,
} from '../../../src/drivers/errors.js';
import { BOSCH_EXAMPLE_CALIBRATION, Bme280Emulator } from '../../../mocks/chips/bme280-emulator.js';
import { EmulatedI2cChip } from '../../../mocks/i2c/emulator.js';
import { rig, withSleep } from './helpers.js';

describe('BME280 compensation (datasheet example)', () => {
  const c = BOSCH_EXAMPLE_CALIBRATION;

  it('adc_T = 519888 → 25.08 °C, t_fine 128422', () => {
    expect(compensateTemperature(519888, c)).toEqual({ tFine: 128422, centiCelsius: 2508 });
  });

  it('adc_P = 415148 → 100653.27 Pa (integer formula within 0.05 Pa), 1006.53 hPa', () => {
    const pa = compensatePressure(415148, 128422, c) / 256;
    expect(Math.abs(pa - 100653.27)).toBeLessThan(0.05);
    expect((pa / 100).toFixed(2)).toBe('1006.53');
  });

  it('trim registers round-trip, including the signed 12-bit H4/H5 sharing 0xE5', () => {
    const calibration = { ...c, H: { H1: 75, H2: 362, H3: 0, H4: -300, H5: 2047, H6: -30 } };
    const [tp, h] = encodeBme280Calibration(calibration);
    expect(tp.readUInt16LE(0)).toBe(27504);
    expect(parseBme280Calibration(tp, h)).toEqual(calibration);
    expect(parseBme280Calibration(tp).H).toBeUndefined();
  });

  it('measurement time follows appendix B', () => {
    expect(bme280MeasurementTime({ temperature: 1, pressure: 1, humidity: 1 })).toEqual({ typical: 8, max: expect.closeTo(9.3, 6) });
    expect(bme280MeasurementTime({ temperature: 1, pressure: 0, humidity: 0 }).typical).toBe(3);
  });
});

describe('Bme280 driver against the emulator', () => {
  it('reads 21.5 °C, 1006.53 hPa, 40 %RH back within resolution', async () => {
    const { bus, attach, clock } = rig();
    attach(new Bme280Emulator({ clock, temperature: 21.5, pressure: 1006.53, humidity: 40 }));
    const sensor = await Bme280.open(bus, { clock, oversampling: { temperature: 16, pressure: 16, humidity: 16 } });
    expect(sensor.kind).toBe('bme280');
    expect(sensor.channels.map((ch) => ch.key)).toEqual(['temperature', 'pressure', 'humidity']);
    const reading = await sensor.read();
    expect(reading.temperature).toBeCloseTo(21.5, 2);
    expect(Math.abs(reading.pressure! - 1006.53)).toBeLessThan(0.01);
    expect(Math.abs(reading.humidity! - 40)).toBeLessThan(0.05);
  });

  it('follows changes and negative temperatures at oversampling x1 (16-bit)', async () => {
    const { bus, attach, clock } = rig();
    const emu = attach(new Bme280Emulator({ clock, address: 0x77, temperature: 21.5 }));
    const sensor = new Bme280(bus, { address: 0x77, clock });
    expect((await sensor.read()).temperature).toBeCloseTo(21.5, 1);
    emu.set({ temperature: -12.34, humidity: 95.5, pressure: 980 });
    const reading = await sensor.read();
    expect(Math.abs(reading.temperature! + 12.34)).toBeLessThanOrEqual(0.011);
    expect(Math.abs(reading.humidity! - 95.5)).toBeLessThan(0.05);
    expect(Math.abs(reading.pressure! - 980)).toBeLessThan(0.05);
  });

  it('tells a BMP280 by its chip id and reports no humidity', async () => {
    const { bus, attach, clock } = rig();
    attach(new Bme280Emulator({ clock, model: 'bmp280', temperature: 19 }));
    const sensor = await Bme280.open(bus, { clock, model: 'bme280' });
    expect(sensor.kind).toBe('bmp280');
    expect(sensor.channels.map((ch) => ch.key)).toEqual(['temperature', 'pressure']);
    const reading = await sensor.read();
    expect(Object.keys(reading).sort()).toEqual(['pressure', 'temperature']);
    expect(reading.temperature).toBeCloseTo(19, 1);
  });

  it('rejects a chip with another id', async () => {
    class OtherChip extends EmulatedI2cChip {
      readonly name = 'other';
      write(): void {}
      read(length: number): Buffer {
        return Buffer.alloc(length, 0x55);
      }
      protected powerOn(): void {}
    }
    const { bus, attach } = rig();
    attach(new OtherChip(0x76));
    await expect(Bme280.open(bus)).rejects.toBeInstanceOf(DeviceNotPresentError);
  });

  it('reads the trim registers once, writes ctrl_hum before a forced ctrl_meas', async () => {
    const { bus, raw, attach, clock } = rig();
    attach(new Bme280Emulator({ clock }));
    const writes: number[][] = [];
    const original = raw.writeByte.bind(raw);
    raw.writeByte = (address, command, byte) => {
      writes.push([command, byte]);
      return original(address, command, byte);
    };
    const sensor = new Bme280(bus, { clock, oversampling: { temperature: 2, pressure: 4, humidity: 8 } });
    await sensor.read();
    await sensor.read();
    expect(raw.transfers.filter((t) => t.op === 'readI2cBlock').length).toBe(2 + 2); // trim x2 once, data x2
    const measurementWrites = writes.filter(([reg]) => reg === 0xf2 || reg === 0xf4);
    expect(measurementWrites.slice(0, 2)).toEqual([
      [0xf2, 0b100],
      [0xf4, (0b010 << 5) | (0b011 << 2) | 0b01],
    ]);
  });

  it('polls the status register until measuring clears', async () => {
    const { bus, attach, clock } = rig();
    attach(new Bme280Emulator({ clock, temperature: 20 }));
    let sleeps = 0;
    // Sleeps that fall 10 % short, as a chip slower than typical looks: the driver must keep polling.
    const slowClock = withSleep(clock, async (ms) => {
      sleeps += 1;
      clock.advance(ms * 0.9);
    });
    const sensor = new Bme280(bus, { clock: slowClock, oversampling: { temperature: 16, pressure: 16, humidity: 16 } });
    await sensor.init();
    sleeps = 0;
    expect((await sensor.read()).temperature).toBeCloseTo(20, 1);
    expect(sleeps).toBeGreaterThan(5);
  });

  it('times out when the chip never finishes', async () => {
    const { bus, attach, clock } = rig();
    attach(new Bme280Emulator({ clock }));
    const sensor = new Bme280(bus, { clock: withSleep(clock, async () => {}) });
    clock.advance(10);
    await expect(sensor.read()).rejects.toBeInstanceOf(HardwareTimeoutError);
  });

  it('turns bus faults into typed errors and recovers', async () => {
    const { bus, attach, clock } = rig();
    const emu = attach(new Bme280Emulator({ clock, temperature: 21.5 }));
    const sensor = await Bme280.open(bus, { clock });

    emu.inject({ kind: 'nack' });
    await expect(sensor.read()).rejects.toMatchObject({ constructor: NackError, code: 'EREMOTEIO', device: 'i2c-1@0x76' });
    emu.inject({ kind: 'eio' });
    await expect(sensor.read()).rejects.toMatchObject({ constructor: HardwareIoError, code: 'EIO' });
    emu.inject({ kind: 'timeout' });
    await expect(sensor.read()).rejects.toMatchObject({ constructor: HardwareTimeoutError, code: 'ETIMEDOUT' });
    expect((await sensor.read()).temperature).toBeCloseTo(21.5, 1);

    emu.disconnect();
    await expect(sensor.read()).rejects.toBeInstanceOf(NackError);
    emu.reconnect();
    expect((await sensor.read()).temperature).toBeCloseTo(21.5, 1);
  });

  it('reports an all-zero (out-of-range) reading as implausible, and stuck values as they are', async () => {
    const { bus, attach, clock } = rig();
    const emu = attach(new Bme280Emulator({ clock, temperature: 21.5 }));
    const sensor = await Bme280.open(bus, { clock });
    emu.inject({ kind: 'out-of-range' });
    await expect(sensor.read()).rejects.toBeInstanceOf(ImplausibleReadingError);
    const before = await sensor.read();
    emu.set({ temperature: 30 });
    emu.inject({ kind: 'stuck', count: 2 });
    expect(await sensor.read()).toEqual(before);
    expect(await sensor.read()).toEqual(before);
    expect((await sensor.read()).temperature).toBeCloseTo(30, 1);
  });
});
