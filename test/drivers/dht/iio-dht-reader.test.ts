import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DhtSensor } from '../../../src/drivers/dht/dht-sensor.js';
import { IioDhtReader } from '../../../src/drivers/dht/iio-dht-reader.js';
import { DeviceNotPresentError, HardwareIoError, HardwareTimeoutError, ImplausibleReadingError } from '../../../src/drivers/errors.js';
import { ManualClock } from '../../../mocks/chips/clock.js';
import { IioTree } from '../../../mocks/sysfs/iio-tree.js';

let tree: IioTree | undefined;
afterEach(async () => {
  await tree?.cleanup();
  tree = undefined;
});

async function setup() {
  const clock = new ManualClock();
  tree = await IioTree.create({ clock });
  await tree.addOther('ads1015');
  const device = await tree.addDht11({ temperature: 21.5, humidity: 40 });
  const reader = new IioDhtReader({ sysfsRoot: tree.root, fs: tree.fs, clock });
  return { clock, tree, device, reader };
}

describe('IioDhtReader on a temporary sysfs tree', () => {
  it('finds the dht11-named device and reads milli-units', async () => {
    const { reader } = await setup();
    expect(await reader.read()).toEqual({ temperature: 21.5, humidity: 40 });
  });

  it('plain files work without the tree fs too (negative temperature)', async () => {
    const clock = new ManualClock();
    tree = await IioTree.create({ clock });
    const device = await tree.addDht11();
    await writeFile(join(device.dir, 'in_temp_input'), '-10100\n');
    await writeFile(join(device.dir, 'in_humidityrelative_input'), '65200\n');
    const reader = new IioDhtReader({ sysfsRoot: tree.root, device: 'iio:device0' });
    expect(await reader.read()).toEqual({ temperature: -10.1, humidity: 65.2 });
  });

  it('no new sample within 2 s of the last read\'s end, so never the kernel\'s cached frame', async () => {
    const { reader, clock, device } = await setup();
    const t0 = clock.now();
    await reader.read();
    expect(clock.now() - t0).toBe(25); // the read blocks while the frame comes in
    device.set({ temperature: 25 });
    clock.advance(1000);
    expect(await reader.read()).toBeUndefined();
    // 2 s after the read began, but the kernel stamped its frame when it had decoded it: it would hand back the
    // same frame without a start pulse.
    clock.advance(975);
    expect(await reader.read()).toBeUndefined();
    expect(device.pulses).toEqual([t0]);
    clock.advance(25);
    expect((await reader.read())?.temperature).toBe(25);
    expect(device.pulses).toEqual([t0, t0 + 2025]);
  });

  it('a repeated frame from the kernel\'s cache is no new sample (reads spaced closer than 2 s)', async () => {
    const { clock, device, tree: t } = await setup();
    const reader = new IioDhtReader({ sysfsRoot: t.root, fs: t.fs, clock, minIntervalMs: 500 });
    expect(await reader.read()).toEqual({ temperature: 21.5, humidity: 40 });
    clock.advance(1000);
    expect(await reader.read()).toBeUndefined();
    expect(device.pulses).toHaveLength(1);
    clock.advance(1000);
    expect(await reader.read()).toEqual({ temperature: 21.5, humidity: 40 });
    expect(device.pulses).toHaveLength(2);
  });

  it('after ETIMEDOUT / EIO retries once, 2 s later (the sensor ignores a sooner start pulse); fails typed with the code kept', async () => {
    const { reader, clock, device } = await setup();
    device.inject({ kind: 'timeout' });
    expect(await reader.read()).toEqual({ temperature: 21.5, humidity: 40 });
    const spacing = (pulses: number[]) => pulses.slice(1).map((at, i) => at - pulses[i]!);
    expect(device.pulses).toHaveLength(2);
    expect(Math.min(...spacing(device.pulses))).toBeGreaterThanOrEqual(2000);
    clock.advance(3000);
    device.inject({ kind: 'timeout', count: 2 });
    await expect(reader.read()).rejects.toMatchObject({ constructor: HardwareTimeoutError, code: 'ETIMEDOUT' });
    clock.advance(2000);
    device.inject({ kind: 'crc', count: 2 });
    await expect(reader.read()).rejects.toMatchObject({ constructor: HardwareIoError, code: 'EIO' });
    clock.advance(2000);
    device.disconnect();
    await expect(reader.read()).rejects.toBeInstanceOf(HardwareTimeoutError);
    device.reconnect();
    clock.advance(2000);
    expect(await reader.read()).toEqual({ temperature: 21.5, humidity: 40 });
    expect(Math.min(...spacing(device.pulses))).toBeGreaterThanOrEqual(2000);
  });

  it('garbage in a value file is a HardwareIoError', async () => {
    const clock = new ManualClock();
    tree = await IioTree.create({ clock });
    const device = await tree.addDht11();
    await writeFile(join(device.dir, 'in_temp_input'), 'nonsense\n');
    await expect(new IioDhtReader({ sysfsRoot: tree.root, retries: 0 }).read()).rejects.toBeInstanceOf(HardwareIoError);
  });

  it('no dht11 device, or the overlay removed → DeviceNotPresentError', async () => {
    const { reader, clock, device, tree: t } = await setup();
    await expect(new IioDhtReader({ sysfsRoot: t.root, index: 1 }).read()).rejects.toBeInstanceOf(DeviceNotPresentError);
    await reader.read();
    await device.remove();
    clock.advance(3000);
    await expect(reader.read()).rejects.toBeInstanceOf(DeviceNotPresentError);
  });

  it('through DhtSensor, the 0/0 frame is rejected as implausible', async () => {
    const { reader, clock, device } = await setup();
    const sensor = new DhtSensor(reader, { model: 'dht22', clock });
    expect(await sensor.read()).toEqual({ temperature: 21.5, humidity: 40 });
    clock.advance(3000);
    device.inject({ kind: 'out-of-range' });
    await expect(sensor.read()).rejects.toBeInstanceOf(ImplausibleReadingError);
  });
});

describe('IioDhtReader.available (backend auto)', () => {
  it('is true only when a dht11 IIO device exists', async () => {
    tree = await IioTree.create();
    await tree.addOther('mcp3008');
    expect(await IioDhtReader.available({ sysfsRoot: tree.root })).toBe(false);
    await tree.addDht11();
    expect(await IioDhtReader.available({ sysfsRoot: tree.root })).toBe(true);
    expect(await IioDhtReader.available({ sysfsRoot: '/nonexistent-sysfs' })).toBe(false);
  });
});
