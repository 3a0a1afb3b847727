import { describe, expect, it } from 'vitest';
import { Ads1115, ads1115SingleShotConfig, ads1115Volts } from '../../../src/drivers/chips/ads1115.js';
import { HardwareTimeoutError, NackError } from '../../../src/drivers/errors.js';
import { Ads1115Emulator } from '../../../mocks/chips/ads1115-emulator.js';
import { rig, withSleep } from './helpers.js';

describe('ADS1115 config and conversion', () => {
  it('builds the single-shot config word', () => {
    // OS=1, MUX=100 (AIN0/GND), PGA=001 (±4.096 V), MODE=1, DR=100 (128 SPS), comparator off.
    expect(ads1115SingleShotConfig(0, 4.096, 128)).toBe(0xc383);
    expect(ads1115SingleShotConfig(3, 0.256, 860)).toBe(0x8000 | (0b111 << 12) | (0b101 << 9) | 0x0100 | (0b111 << 5) | 0x3);
    expect(() => ads1115SingleShotConfig(0, 5 as never, 128)).toThrow(RangeError);
    expect(() => ads1115SingleShotConfig(0, 4.096, 100)).toThrow(RangeError);
  });

  it('converts signed counts to volts', () => {
    expect(ads1115Volts(32767, 4.096)).toBeCloseTo(4.095875, 6);
    expect(ads1115Volts(-32768, 2.048)).toBe(-2.048);
    expect(ads1115Volts(16000, 6.144)).toBe(3);
  });
});

describe('Ads1115 driver against the emulator', () => {
  it('reads each configured input within one LSB, with per-input gain', async () => {
    const { bus, attach, clock } = rig();
    attach(new Ads1115Emulator({ clock, inputs: { 0: 1.234, 1: 3.3, 2: 0, 3: 0.1 } }));
    const sensor = new Ads1115(bus, { clock, inputs: [0, 1, 2, 3], fullScaleByInput: { 3: 0.256 } });
    expect(sensor.channels.map((c) => c.key)).toEqual(['voltage_0', 'voltage_1', 'voltage_2', 'voltage_3']);
    const reading = await sensor.read();
    expect(Math.abs(reading.voltage_0! - 1.234)).toBeLessThanOrEqual(4.096 / 32768);
    expect(Math.abs(reading.voltage_1! - 3.3)).toBeLessThanOrEqual(4.096 / 32768);
    expect(reading.voltage_2).toBe(0);
    expect(Math.abs(reading.voltage_3! - 0.1)).toBeLessThanOrEqual(0.256 / 32768);
  });

  it('clips at full scale', async () => {
    const { bus, attach, clock } = rig();
    attach(new Ads1115Emulator({ clock, inputs: { 0: 3.0 } }));
    const reading = await new Ads1115(bus, { clock, fullScale: 2.048 }).read();
    expect(reading.voltage_0).toBeCloseTo(2.048 * (32767 / 32768), 6);
  });

  it('waits for the OS bit; a chip that never finishes times out', async () => {
    const { bus, attach, clock } = rig();
    attach(new Ads1115Emulator({ clock, inputs: { 0: 1 } }));
    await expect(new Ads1115(bus, { clock: withSleep(clock, async () => {}) }).read()).rejects.toBeInstanceOf(HardwareTimeoutError);
    // 8 SPS = 125 ms per conversion; sleeping the nominal time is not always enough, polling covers the rest.
    const sensor = new Ads1115(bus, { dataRate: 8, clock });
    expect((await sensor.read()).voltage_0).toBeCloseTo(1, 3);
  });

  it('faults: NACK, disconnect/reconnect (power-on reset), stuck', async () => {
    const { bus, attach, clock } = rig();
    const emu = attach(new Ads1115Emulator({ clock, address: 0x49, inputs: { 0: 2 } }));
    const sensor = new Ads1115(bus, { address: 0x49, clock });
    emu.inject({ kind: 'nack' });
    await expect(sensor.read()).rejects.toBeInstanceOf(NackError);
    emu.disconnect();
    await expect(sensor.read()).rejects.toBeInstanceOf(NackError);
    emu.reconnect();
    expect((await sensor.read()).voltage_0).toBeCloseTo(2, 3);
    emu.setInput(0, 1);
    emu.inject({ kind: 'stuck' });
    expect((await sensor.read()).voltage_0).toBeCloseTo(2, 3);
    expect((await sensor.read()).voltage_0).toBeCloseTo(1, 3);
  });
});
