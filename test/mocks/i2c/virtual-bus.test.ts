import { describe, expect, it } from 'vitest';
import { HardwareIoError, NackError } from '../../../src/drivers/errors.js';
import { Bme280Emulator } from '../../../mocks/chips/bme280-emulator.js';
import { ManualClock } from '../../../mocks/chips/clock.js';
import { Sht3xEmulator } from '../../../mocks/chips/sht3x-emulator.js';
import { VirtualI2cBus } from '../../../mocks/i2c/virtual-bus.js';

describe('VirtualI2cBus', () => {
  it('an empty address NACKs with EREMOTEIO, like i2c-dev', async () => {
    const bus = new VirtualI2cBus({ busNumber: 1 });
    const error = await bus.readByte(0x40, 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NackError);
    expect(error).toMatchObject({ code: 'EREMOTEIO', device: 'i2c-1@0x40' });
    expect((error as Error).message).toMatch(/Remote I\/O error/);
  });

  it('scan lists connected devices; attach refuses a taken address', () => {
    const bus = new VirtualI2cBus();
    const bme = bus.attach(new Bme280Emulator({ address: 0x77 }));
    bus.attach(new Sht3xEmulator());
    expect(bus.scan()).toEqual([0x44, 0x77]);
    bme.disconnect();
    expect(bus.scan()).toEqual([0x44]);
    expect(() => bus.attach(new Sht3xEmulator())).toThrow(/taken/);
  });

  it('faults are consumed one transfer at a time, in injection order', async () => {
    const bus = new VirtualI2cBus();
    const bme = bus.attach(new Bme280Emulator());
    bme.inject({ kind: 'eio' });
    bme.inject({ kind: 'nack', count: 2 });
    await expect(bus.readByte(0x76, 0xd0)).rejects.toBeInstanceOf(HardwareIoError);
    await expect(bus.readByte(0x76, 0xd0)).rejects.toBeInstanceOf(NackError);
    await expect(bus.readByte(0x76, 0xd0)).rejects.toBeInstanceOf(NackError);
    await expect(bus.readByte(0x76, 0xd0)).resolves.toBe(0x60);
    bme.inject({ kind: 'nack', count: Infinity });
    await expect(bus.readByte(0x76, 0xd0)).rejects.toBeInstanceOf(NackError);
    bme.faults.clear();
    await expect(bus.readByte(0x76, 0xd0)).resolves.toBe(0x60);
  });

  it('reconnect is a power-on: registers back to reset values', async () => {
    const clock = new ManualClock();
    const bus = new VirtualI2cBus();
    const bme = bus.attach(new Bme280Emulator({ clock }));
    await bus.writeByte(0x76, 0xf5, 0xa0);
    expect(await bus.readByte(0x76, 0xf5)).toBe(0xa0);
    bme.disconnect();
    bme.reconnect();
    expect(await bus.readByte(0x76, 0xf5)).toBe(0x00);
    // Bursts auto-increment; writes are (register, value) pairs. Status 0xF3 shows im_update for 2 ms after reset.
    clock.advance(5);
    await bus.writeI2cBlock(0x76, 0xf2, 3, Buffer.from([0x03, 0xf5, 0x10]));
    expect((await bus.readI2cBlock(0x76, 0xf2, 4, Buffer.alloc(4))).buffer).toEqual(Buffer.from([0x03, 0x00, 0x00, 0x10]));
  });
});
