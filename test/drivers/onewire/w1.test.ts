import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ds18b20 } from '../../../src/drivers/onewire/ds18b20.js';
import { W1SysfsBus } from '../../../src/drivers/onewire/w1-sysfs-bus.js';
import { dallasCrc8, parseW1Slave } from '../../../src/drivers/onewire/w1-slave.js';
import {
  ChecksumError,
  DeviceNotPresentError,
  HardwareIoError,
  HardwareTimeoutError,
  ImplausibleReadingError,
} from '../../../src/drivers/errors.js';
import { W1Tree, w1SlaveText } from '../../../mocks/sysfs/w1-tree.js';

let tree: W1Tree | undefined;
afterEach(async () => {
  await tree?.cleanup();
  tree = undefined;
});

const EXAMPLE = '72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n';

describe('w1_slave format', () => {
  it('parses the classic example and its CRC is right', () => {
    expect(parseW1Slave(EXAMPLE)).toEqual({ crcOk: true, milliCelsius: 23125, scratchpad: [0x72, 0x01, 0x4b, 0x46, 0x7f, 0xff, 0x0e, 0x10, 0x57] });
    expect(dallasCrc8([0x72, 0x01, 0x4b, 0x46, 0x7f, 0xff, 0x0e, 0x10])).toBe(0x57);
    expect(parseW1Slave('aa 01 4b 46 7f ff 0c 10 ff : crc=ff NO\naa 01 4b 46 7f ff 0c 10 ff t=26625\n').crcOk).toBe(false);
    expect(() => parseW1Slave('')).toThrow(SyntaxError);
  });

  it('the mock writes what the kernel writes, negative values included', () => {
    expect(w1SlaveText(0x0172)).toMatch(/^72 01 .* : crc=[0-9a-f]{2} YES\n.* t=23125\n$/);
    expect(w1SlaveText(0xff5e)).toMatch(/t=-10125\n$/); // -10.125 °C
    const reading = parseW1Slave(w1SlaveText(0x0550));
    expect(reading.milliCelsius).toBe(85000);
    expect(dallasCrc8(reading.scratchpad.slice(0, 8))).toBe(reading.scratchpad[8]);
  });
});

async function setup(options: { source?: 'w1_slave' | 'temperature' } = {}) {
  tree = await W1Tree.create();
  const sensor = await tree.addDs18b20({ id: '28-0000075565ef', temperature: 21.5 });
  const bus = new W1SysfsBus({ sysfsRoot: tree.root, fs: tree.fs, ...options });
  return { tree, sensor, bus };
}

describe('W1SysfsBus on a temporary sysfs tree', () => {
  it('lists slaves (not the master) and reads 21.5 °C from w1_slave and from temperature', async () => {
    const { bus, tree: t } = await setup();
    await t.addDs18b20({ id: '28-000005e2fdc3', temperature: -3.25 });
    expect(await bus.list()).toEqual(['28-0000075565ef', '28-000005e2fdc3'].sort());
    expect(await bus.readTemperature('28-0000075565ef')).toBe(21.5);
    expect(await bus.readTemperature('28-000005e2fdc3')).toBe(-3.25);
    const plain = new W1SysfsBus({ sysfsRoot: t.root, source: 'temperature' });
    expect(await plain.readTemperature('28-000005e2fdc3')).toBe(-3.25);
  });

  it('a w1 overlay that is not loaded lists nothing', async () => {
    expect(await new W1SysfsBus({ sysfsRoot: '/nonexistent-sysfs' }).list()).toEqual([]);
  });

  it('CRC NO → ChecksumError (also from a plain file)', async () => {
    const { bus, sensor } = await setup();
    sensor.inject({ kind: 'crc' });
    await expect(bus.readTemperature(sensor.id)).rejects.toBeInstanceOf(ChecksumError);
    expect(await bus.readTemperature(sensor.id)).toBe(21.5);
    await writeFile(join(sensor.dir, 'w1_slave'), w1SlaveText(0x0172, { crcOk: false }));
    await expect(new W1SysfsBus({ sysfsRoot: tree!.root }).readTemperature(sensor.id)).rejects.toBeInstanceOf(ChecksumError);
  });

  it('a failed conversion (85.00 or 127.94 °C with scratchpad byte 6 = 0x0C) is a failed read, however often it repeats', async () => {
    const { bus, sensor } = await setup();
    sensor.inject({ kind: 'out-of-range', count: 2 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await bus.readTemperature(sensor.id).catch((e: unknown) => e);
      expect(error).toMatchObject({ constructor: HardwareIoError, code: 'EIO' });
      expect((error as Error).message).toMatch(/conversion failed.*85/);
    }
    expect(await bus.readTemperature(sensor.id)).toBe(21.5);
    // The power-on scratchpad, byte for byte as a DS18B20 reads before any conversion (datasheet, table 1).
    await writeFile(join(sensor.dir, 'w1_slave'), '50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 4b 46 7f ff 0c 10 1c t=85000\n');
    await expect(new W1SysfsBus({ sysfsRoot: tree!.root }).readTemperature(sensor.id)).rejects.toThrow(/conversion failed/);
    await writeFile(join(sensor.dir, 'w1_slave'), w1SlaveText(0x07ff, { countRemain: 0x0c })); // 127.94: too little power
    await expect(new W1SysfsBus({ sysfsRoot: tree!.root }).readTemperature(sensor.id)).rejects.toThrow(/conversion failed.*127\.93/);
  });

  it('a real 85 °C (byte 6 is not 0x0C) is a reading', async () => {
    const { sensor } = await setup();
    await writeFile(join(sensor.dir, 'w1_slave'), w1SlaveText(0x0550));
    expect(parseW1Slave(w1SlaveText(0x0550)).scratchpad[6]).toBe(0x10);
    expect(await new W1SysfsBus({ sysfsRoot: tree!.root }).readTemperature(sensor.id)).toBe(85);
  });

  it('an all-zero scratchpad (CRC 0 matches) is a failed read, not 0 °C', async () => {
    const { sensor } = await setup();
    await writeFile(join(sensor.dir, 'w1_slave'), '00 00 00 00 00 00 00 00 00 : crc=00 YES\n00 00 00 00 00 00 00 00 00 t=0\n');
    expect(dallasCrc8([0, 0, 0, 0, 0, 0, 0, 0])).toBe(0);
    const error = await new W1SysfsBus({ sysfsRoot: tree!.root }).readTemperature(sensor.id).catch((e: unknown) => e);
    expect(error).toMatchObject({ constructor: HardwareIoError, code: 'EIO' });
    expect((error as Error).message).toMatch(/all-zero scratchpad/);
  });

  it('85 °C from the plain temperature file (no scratchpad to tell) is re-read, and refused when it repeats', async () => {
    const { sensor, tree: t } = await setup();
    const plain = new W1SysfsBus({ sysfsRoot: t.root, fs: t.fs, source: 'temperature' });
    sensor.inject({ kind: 'out-of-range' });
    expect(await plain.readTemperature(sensor.id)).toBe(21.5);
    sensor.inject({ kind: 'out-of-range', count: 2 });
    await expect(plain.readTemperature(sensor.id)).rejects.toThrow(/85 °C twice/);
  });

  it('a value beyond the DS18B20 range is implausible', async () => {
    const { sensor } = await setup();
    await writeFile(join(sensor.dir, 'w1_slave'), w1SlaveText(0x07d1)); // 125.0625 °C
    await expect(new W1SysfsBus({ sysfsRoot: tree!.root }).readTemperature(sensor.id)).rejects.toBeInstanceOf(ImplausibleReadingError);
  });

  it('I/O faults keep their OS code; a vanished device is DeviceNotPresentError, and it comes back', async () => {
    const { bus, sensor } = await setup();
    sensor.inject({ kind: 'eio' });
    await expect(bus.readTemperature(sensor.id)).rejects.toMatchObject({ constructor: HardwareIoError, code: 'EIO' });
    sensor.inject({ kind: 'timeout' });
    await expect(bus.readTemperature(sensor.id)).rejects.toMatchObject({ constructor: HardwareTimeoutError, code: 'ETIMEDOUT' });
    await sensor.disconnect();
    expect(await bus.list()).toEqual([]);
    await expect(bus.readTemperature(sensor.id)).rejects.toMatchObject({ constructor: DeviceNotPresentError, code: 'ENOENT' });
    await sensor.reconnect();
    expect(await bus.readTemperature(sensor.id)).toBe(21.5);
  });

  it('a truncated file is a HardwareIoError', async () => {
    const { sensor } = await setup();
    await writeFile(join(sensor.dir, 'w1_slave'), 'ff ff ff ff ff ff ff ff ff : crc=c9 YES\n');
    await expect(new W1SysfsBus({ sysfsRoot: tree!.root }).readTemperature(sensor.id)).rejects.toBeInstanceOf(HardwareIoError);
  });
});

describe('Ds18b20 sensor', () => {
  it('reads the first 28-* device when no id is given, and follows the temperature', async () => {
    const { bus, sensor } = await setup();
    const ds = new Ds18b20(bus);
    expect(await ds.read()).toEqual({ temperature: 21.5 });
    expect(ds.id).toBe('28-0000075565ef');
    sensor.set({ temperature: 19.3 });
    expect((await ds.read()).temperature).toBe(19.312); // 1/16 °C steps, kernel truncates t= to an integer
  });

  it('no DS18B20 on the bus → DeviceNotPresentError', async () => {
    tree = await W1Tree.create();
    await expect(new Ds18b20(new W1SysfsBus({ sysfsRoot: tree.root })).read()).rejects.toBeInstanceOf(DeviceNotPresentError);
  });
});
