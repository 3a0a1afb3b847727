import { afterEach, describe, expect, it } from 'vitest';
import { NackError } from '../../../src/drivers/errors.js';
import { createSensorRegistry } from '../../../src/drivers/sensor-factory.js';
import { ManualClock } from '../../../mocks/chips/clock.js';
import { createSimulatedHardware, type SimulatedHardware } from '../../../mocks/chips/simulated-hardware.js';

let hw: SimulatedHardware | undefined;
afterEach(async () => {
  await hw?.close();
  hw = undefined;
});

async function simulated() {
  const clock = new ManualClock();
  hw = await createSimulatedHardware({ clock, seed: 42 });
  return { clock, hw };
}

describe('sensor registry', () => {
  it('knows every built-in kind', () => {
    expect(createSensorRegistry().kinds()).toEqual(['ads1115', 'bh1750', 'bme280', 'bmp280', 'dht11', 'dht22', 'ds18b20', 'sht3x']);
  });

  it('builds and reads every kind against the simulated hardware, all agreeing on the room', async () => {
    const { hw, clock } = await simulated();
    const registry = createSensorRegistry();
    const expected = hw.room.temperature.at(clock.now());
    const specs: [string, Record<string, unknown>][] = [
      ['bme280', {}],
      ['sht3x', { address: '0x44' }],
      ['bh1750', {}],
      ['ads1115', { inputs: [0, 1], fullScaleByInput: { '1': 6.144 } }],
      ['dht22', { pin: 4 }],
      ['ds18b20', {}],
    ];
    for (const [kind, options] of specs) {
      const sensor = await registry.create(kind, options, hw);
      const reading = await sensor.read();
      expect(reading, kind).toBeDefined();
      expect(Object.keys(reading!).sort(), kind).toEqual(sensor.channels.map((c) => c.key).sort());
      if ('temperature' in reading!) expect(Math.abs(reading.temperature! - expected), kind).toBeLessThan(0.6);
      await sensor.close();
    }
  });

  it('validates options with clear messages', async () => {
    const { hw } = await simulated();
    const registry = createSensorRegistry();
    await expect(registry.create('bme280', { address: 0x40 }, hw)).rejects.toThrow(/0x76, 0x77/);
    await expect(registry.create('dht22', {}, hw)).rejects.toThrow(/pin/);
    await expect(registry.create('ads1115', { dataRate: 100 }, hw)).rejects.toThrow(/dataRate/);
    await expect(registry.create('nope', {}, hw)).rejects.toThrow(/unknown sensor kind "nope"/);
  });

  it('a BME280 absent at start-up still yields a sensor whose reads fail typed until it answers', async () => {
    const { hw } = await simulated();
    hw.chips.bme280.disconnect();
    const sensor = await createSensorRegistry().create('bme280', {}, hw);
    expect(sensor.kind).toBe('bme280');
    await expect(sensor.read()).rejects.toBeInstanceOf(NackError);
    hw.chips.bme280.reconnect();
    expect((await sensor.read())?.pressure).toBeGreaterThan(900);
  });

  it('an extra kind is one register() call', async () => {
    const { hw } = await simulated();
    const { z } = await import('zod');
    const registry = createSensorRegistry().register('constant', z.object({ value: z.number() }), async (o) => ({
      kind: 'constant',
      channels: [{ key: 'value', unit: '' }],
      read: async () => ({ value: o.value as number }),
      close: async () => {},
    }));
    expect(await (await registry.create('constant', { value: 7 }, hw)).read()).toEqual({ value: 7 });
  });
});
