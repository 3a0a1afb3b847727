import { describe, expect, it } from 'vitest';
import { DhtSensor } from '../../../src/drivers/dht/dht-sensor.js';
import { ChecksumError, HardwareIoError, HardwareTimeoutError, ImplausibleReadingError } from '../../../src/drivers/errors.js';
import { ManualClock } from '../../../mocks/chips/clock.js';
import { SimulatedDhtReader } from '../../../mocks/dht/simulated-dht.js';

describe('SimulatedDhtReader', () => {
  it('one sample per 2 s, at sensor resolution', async () => {
    const clock = new ManualClock();
    const dht = new SimulatedDhtReader({ clock, temperature: 21.54, humidity: 40.26 });
    expect(await dht.read()).toEqual({ temperature: 21.5, humidity: 40.3 });
    clock.advance(1500);
    expect(await dht.read()).toBeUndefined();
    clock.advance(500);
    dht.set({ temperature: -10.1 });
    expect(await dht.read()).toEqual({ temperature: -10.1, humidity: 40.3 });
    const dht11 = new SimulatedDhtReader({ clock, model: 'dht11', temperature: 21.54, humidity: 40.26 });
    expect(await dht11.read()).toEqual({ temperature: 21.5, humidity: 40 });
  });

  it('faults produce typed errors; the all-zero frame is caught by DhtSensor', async () => {
    const clock = new ManualClock();
    const dht = new SimulatedDhtReader({ clock, temperature: 21.5, humidity: 40 });
    const sensor = new DhtSensor(dht, { model: 'dht22', clock });
    const next = async () => {
      clock.advance(2000);
      return sensor.read();
    };
    dht.inject({ kind: 'timeout' });
    await expect(next()).rejects.toBeInstanceOf(HardwareTimeoutError);
    dht.inject({ kind: 'eio' });
    await expect(next()).rejects.toBeInstanceOf(HardwareIoError);
    dht.inject({ kind: 'crc' });
    await expect(next()).rejects.toBeInstanceOf(ChecksumError);
    dht.inject({ kind: 'out-of-range' });
    await expect(next()).rejects.toBeInstanceOf(ImplausibleReadingError);
    expect(await next()).toEqual({ temperature: 21.5, humidity: 40 });
    dht.set({ temperature: 25 });
    dht.inject({ kind: 'stuck' });
    expect(await next()).toEqual({ temperature: 21.5, humidity: 40 });
    dht.disconnect();
    await expect(next()).rejects.toBeInstanceOf(HardwareTimeoutError);
    dht.reconnect();
    expect(await next()).toEqual({ temperature: 25, humidity: 40 });
  });

  it('drifts plausibly and reproducibly from a seed', async () => {
    const run = async (seed: number) => {
      const clock = new ManualClock();
      const dht = new SimulatedDhtReader({ clock, seed });
      const samples = [];
      for (let i = 0; i < 50; i++) {
        clock.advance(60_000);
        samples.push(await dht.read());
      }
      return samples;
    };
    const a = await run(9);
    expect(await run(9)).toEqual(a);
    expect(await run(10)).not.toEqual(a);
    for (const s of a) {
      expect(s!.temperature).toBeGreaterThan(15);
      expect(s!.temperature).toBeLessThan(28);
      expect(s!.humidity).toBeGreaterThan(25);
      expect(s!.humidity).toBeLessThan(65);
    }
    expect(new Set(a.map((s) => s!.temperature)).size).toBeGreaterThan(3);
  });
});
