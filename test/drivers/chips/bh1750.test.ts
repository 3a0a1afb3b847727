import { describe, expect, it } from 'vitest';
import { Bh1750, bh1750Lux } from '../../../src/drivers/chips/bh1750.js';
import { NackError } from '../../../src/drivers/errors.js';
import { Bh1750Emulator } from '../../../mocks/chips/bh1750-emulator.js';
import { rig, withSleep } from './helpers.js';

describe('BH1750', () => {
  it('lux = count / 1.2 at MTreg 69, scaled otherwise', () => {
    expect(bh1750Lux(0x83_90)).toBeCloseTo(28067, 0); // datasheet example 0x8390 → 28067 lx
    expect(bh1750Lux(600)).toBe(500);
    expect(bh1750Lux(1200, 138)).toBe(500);
  });

  it('reads the emulator in one-time high-resolution mode', async () => {
    const { bus, attach, clock } = rig();
    const emu = attach(new Bh1750Emulator({ clock, illuminance: 321.4 }));
    const sensor = new Bh1750(bus, { clock });
    const start = clock.now();
    expect(Math.abs((await sensor.read()).illuminance! - 321.4)).toBeLessThanOrEqual(1 / 1.2 / 2);
    expect(clock.now() - start).toBeGreaterThanOrEqual(120);
    expect(emu.poweredOn).toBe(false); // one-time mode powers down
  });

  it('MTreg 138 doubles the sensitivity (finer resolution)', async () => {
    const { bus, attach, clock } = rig();
    attach(new Bh1750Emulator({ clock, illuminance: 10.3 }));
    const reading = await new Bh1750(bus, { clock, mtreg: 138 }).read();
    expect(Math.abs(reading.illuminance! - 10.3)).toBeLessThanOrEqual(1 / 1.2 / 4);
    expect(() => new Bh1750(bus, { mtreg: 300 })).toThrow(RangeError);
  });

  it('a read before the conversion ends returns the previous count', async () => {
    const { bus, attach, clock } = rig();
    const emu = attach(new Bh1750Emulator({ clock, illuminance: 100 }));
    expect((await new Bh1750(bus, { clock }).read()).illuminance).toBeCloseTo(100, 0);
    emu.set({ illuminance: 900 });
    expect((await new Bh1750(bus, { clock: withSleep(clock, async () => {}) }).read()).illuminance).toBeCloseTo(100, 0);
  });

  it('faults', async () => {
    const { bus, attach, clock } = rig();
    const emu = attach(new Bh1750Emulator({ clock, address: 0x5c, illuminance: 50 }));
    const sensor = new Bh1750(bus, { address: 0x5c, clock });
    emu.inject({ kind: 'nack' });
    await expect(sensor.read()).rejects.toBeInstanceOf(NackError);
    emu.inject({ kind: 'out-of-range' });
    expect((await sensor.read()).illuminance).toBeCloseTo(65535 / 1.2, 1);
    expect((await sensor.read()).illuminance).toBeCloseTo(50, 0);
  });
});
