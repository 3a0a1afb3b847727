import { describe, expect, it } from 'vitest';
import { sht3xCrc8 } from '../../../src/drivers/chips/sht3x.js';
import { NackError } from '../../../src/drivers/errors.js';
import { Ads1115Emulator } from '../../../mocks/chips/ads1115-emulator.js';
import { Bh1750Emulator } from '../../../mocks/chips/bh1750-emulator.js';
import { ManualClock } from '../../../mocks/chips/clock.js';
import { invertMonotonic } from '../../../mocks/chips/invert.js';
import { Random } from '../../../mocks/chips/random.js';
import { DriftingSignal } from '../../../mocks/chips/signal.js';
import { Sht3xEmulator } from '../../../mocks/chips/sht3x-emulator.js';
import { VirtualI2cBus } from '../../../mocks/i2c/virtual-bus.js';

const write = (bus: VirtualI2cBus, address: number, bytes: number[]) => bus.i2cWrite(address, bytes.length, Buffer.from(bytes));
const read = async (bus: VirtualI2cBus, address: number, length: number) => (await bus.i2cRead(address, length, Buffer.alloc(length))).buffer;

describe('emulator building blocks', () => {
  it('Random is reproducible per seed', () => {
    const a = new Random(7);
    const b = new Random(7);
    expect([a.next(), a.next(), a.gaussian()]).toEqual([b.next(), b.next(), b.gaussian()]);
    expect(new Random(8).next()).not.toBe(new Random(7).next());
  });

  it('DriftingSignal wanders around its mean within its bounds', () => {
    const s = new DriftingSignal({ mean: 21, dailyAmplitude: 1, wander: 0.5, min: 18, max: 24, random: new Random(1) });
    const values = Array.from({ length: 2000 }, (_, i) => s.at(i * 60_000));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(18);
    expect(Math.max(...values)).toBeLessThanOrEqual(24);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(Math.abs(mean - 21)).toBeLessThan(0.5);
    // Slow: consecutive minutes differ by little.
    expect(Math.max(...values.slice(1).map((v, i) => Math.abs(v - values[i]!)))).toBeLessThan(0.5);
  });

  it('invertMonotonic finds the closest integer, either direction', () => {
    expect(invertMonotonic((x) => x * 3, 10, 0, 100)).toBe(3);
    expect(invertMonotonic((x) => 1000 - x * 2, 900.4, 0, 100)).toBe(50);
  });
});

describe('SHT3x emulator', () => {
  it('status register with CRC; unknown command NACKs and sets the command-failed bit', async () => {
    const bus = new VirtualI2cBus();
    bus.attach(new Sht3xEmulator());
    await write(bus, 0x44, [0xf3, 0x2d]);
    const status = await read(bus, 0x44, 3);
    expect(status[2]).toBe(sht3xCrc8(status.subarray(0, 2)));
    await expect(write(bus, 0x44, [0x12, 0x34])).rejects.toBeInstanceOf(NackError);
    await write(bus, 0x44, [0xf3, 0x2d]);
    expect((await read(bus, 0x44, 3)).readUInt16BE(0) & 0x0002).toBe(0x0002);
    await expect(read(bus, 0x44, 3)).rejects.toBeInstanceOf(NackError); // nothing left to read
  });

  it('with clock stretching the read waits instead of NACKing', async () => {
    const clock = new ManualClock();
    const bus = new VirtualI2cBus();
    bus.attach(new Sht3xEmulator({ clock, temperature: 20 }));
    await write(bus, 0x44, [0x2c, 0x06]);
    const data = await read(bus, 0x44, 6);
    expect(-45 + (175 * data.readUInt16BE(0)) / 65535).toBeCloseTo(20, 2);
  });
});

describe('BH1750 emulator', () => {
  it('continuous mode keeps converting; power down stops it', async () => {
    const clock = new ManualClock();
    const bus = new VirtualI2cBus();
    const emu = bus.attach(new Bh1750Emulator({ clock, illuminance: 100 }));
    await write(bus, 0x23, [0x01, 0x10]);
    clock.advance(130);
    expect((await read(bus, 0x23, 2)).readUInt16BE(0)).toBe(120);
    emu.set({ illuminance: 200 });
    clock.advance(130);
    expect((await read(bus, 0x23, 2)).readUInt16BE(0)).toBe(240);
    expect(emu.poweredOn).toBe(true);
    await write(bus, 0x23, [0x00]);
    expect(emu.poweredOn).toBe(false);
    await expect(write(bus, 0x23, [0x99])).rejects.toBeInstanceOf(NackError);
  });
});

describe('ADS1115 emulator', () => {
  it('powers on with config 0x8583 and converts differential inputs', async () => {
    const clock = new ManualClock();
    const bus = new VirtualI2cBus();
    bus.attach(new Ads1115Emulator({ clock, inputs: { 0: 2.5, 1: 1.0 } }));
    expect((await bus.readI2cBlock(0x48, 1, 2, Buffer.alloc(2))).buffer.readUInt16BE(0)).toBe(0x8583);
    // Single-shot AIN0-AIN1, ±2.048 V, 128 SPS.
    await bus.writeI2cBlock(0x48, 1, 2, Buffer.from([0x85, 0x83]));
    expect((await bus.readI2cBlock(0x48, 1, 2, Buffer.alloc(2))).buffer.readUInt16BE(0) & 0x8000).toBe(0);
    clock.advance(8);
    expect((await bus.readI2cBlock(0x48, 1, 2, Buffer.alloc(2))).buffer.readUInt16BE(0) & 0x8000).toBe(0x8000);
    expect((await bus.readI2cBlock(0x48, 0, 2, Buffer.alloc(2))).buffer.readInt16BE(0)).toBe(Math.round((1.5 * 32768) / 2.048));
  });
});
