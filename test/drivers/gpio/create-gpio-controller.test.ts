import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '../../../src/drivers/errors.js';
import { createGpioController } from '../../../src/drivers/gpio/create-controller.js';
import type { GpioController } from '../../../src/drivers/types.js';
import { silentLogger } from '../../../src/util/logger.js';
import { createFakeLibgpiod } from '../../../mocks/gpio/fake-libgpiod.js';
import type { FakeLibgpiod } from '../../../mocks/gpio/fake-libgpiod.js';
import { createFakeOnoff } from '../../../mocks/gpio/fake-onoff.js';
import { createSysfsGpioTree } from '../../../mocks/sysfs/gpio-tree.js';
import type { SysfsGpioTree } from '../../../mocks/sysfs/gpio-tree.js';

const cleanups: (SysfsGpioTree | FakeLibgpiod)[] = [];
const controllers: GpioController[] = [];
afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.close()));
  await Promise.all(cleanups.splice(0).map((c) => c.cleanup()));
});

async function world(options: { classGpio: boolean; onoff: boolean; chardev: boolean }) {
  const tree = await createSysfsGpioTree('pi4-6.6', { withClassGpio: options.classGpio });
  const fake = await createFakeLibgpiod({ major: 2 });
  cleanups.push(tree, fake);
  const onoff = createFakeOnoff(tree.root);
  const loadOnoff = options.onoff
    ? async () => onoff
    : async () => {
        throw new BackendUnavailableError('gpio', 'the onoff package cannot be loaded');
      };
  return {
    backend: 'auto' as const,
    logger: silentLogger(),
    sysfsRoot: tree.root,
    devRoot: options.chardev ? fake.devRoot : tree.root,
    loadOnoff,
    gpiodTools: fake.tools,
    startupGraceMs: 20,
  };
}

async function create(options: Parameters<typeof createGpioController>[0]): Promise<GpioController> {
  const controller = await createGpioController(options);
  controllers.push(controller);
  return controller;
}

describe('createGpioController', () => {
  it('auto prefers sysfs when /sys/class/gpio/export exists and onoff loads', async () => {
    expect((await create(await world({ classGpio: true, onoff: true, chardev: true }))).backend).toBe('sysfs');
  });

  it('auto falls back to the character device without sysfs GPIO (Trixie) or without onoff', async () => {
    expect((await create(await world({ classGpio: false, onoff: true, chardev: true }))).backend).toBe('chardev');
    expect((await create(await world({ classGpio: true, onoff: false, chardev: true }))).backend).toBe('chardev');
  });

  it('auto throws BackendUnavailableError naming both reasons when nothing fits', async () => {
    const error = await createGpioController(await world({ classGpio: false, onoff: true, chardev: false })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toMatch(/sysfs: .*export does not exist; chardev: no .*gpiochip\*/);
  });

  it('builds the named backend', async () => {
    const options = await world({ classGpio: true, onoff: true, chardev: true });
    expect((await create({ ...options, backend: 'chardev' })).backend).toBe('chardev');
    expect((await create({ ...options, backend: 'sysfs' })).backend).toBe('sysfs');
  });
});
