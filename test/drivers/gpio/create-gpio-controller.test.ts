import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '../../../src/drivers/errors.js';
import { createGpioController } from '../../../src/drivers/gpio/create-controller.js';
import type { GpioController } from '../../../src/drivers/types.js';
import { createLogger, silentLogger } from '../../../src/util/logger.js';
import { createFakeLibgpiod, PI4_CHIPS, PI5_CHIPS } from '../../../mocks/gpio/fake-libgpiod.js';
import type { FakeLibgpiod } from '../../../mocks/gpio/fake-libgpiod.js';
import { createFakeOnoff } from '../../../mocks/gpio/fake-onoff.js';
import { createSysfsGpioTree } from '../../../mocks/sysfs/gpio-tree.js';
import type { SysfsGpioProfile, SysfsGpioTree } from '../../../mocks/sysfs/gpio-tree.js';

const cleanups: (SysfsGpioTree | FakeLibgpiod)[] = [];
const controllers: GpioController[] = [];
afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.close()));
  await Promise.all(cleanups.splice(0).map((c) => c.cleanup()));
});

async function world(options: { classGpio: boolean; onoff: boolean; chardev: boolean; profile?: SysfsGpioProfile; tools?: boolean }) {
  const profile = options.profile ?? 'pi4-6.6';
  const tree = await createSysfsGpioTree(profile, { withClassGpio: options.classGpio });
  const fake = await createFakeLibgpiod({ major: 2, chips: profile.startsWith('pi5') ? PI5_CHIPS : PI4_CHIPS });
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
    // Not installed: every tool path leads nowhere, as `gpioset` missing from PATH does.
    gpiodTools: options.tools === false ? { gpiodetect: '/nonexistent/gpiodetect', gpioinfo: '/nonexistent/gpioinfo', gpioget: '/nonexistent/gpioget', gpioset: '/nonexistent/gpioset', gpiomon: '/nonexistent/gpiomon' } : fake.tools,
    startupGraceMs: 20,
  };
}

function capture(): { logger: ReturnType<typeof createLogger>; messages: () => string[] } {
  const lines: { msg: string }[] = [];
  const logger = createLogger({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  return { logger, messages: () => lines.map((l) => l.msg) };
}

async function create(options: Parameters<typeof createGpioController>[0]): Promise<GpioController> {
  const controller = await createGpioController(options);
  controllers.push(controller);
  return controller;
}

describe('createGpioController', () => {
  it.each<[SysfsGpioProfile]>([['pi5-6.12'], ['pi4-trixie'], ['pi4-6.6']])(
    '%s: auto picks the character device when its tools are installed, although sysfs GPIO exists, and says why',
    async (profile) => {
      const { logger, messages } = capture();
      const gpio = await create({ ...(await world({ profile, classGpio: true, onoff: true, chardev: true })), logger });
      expect(gpio.backend).toBe('chardev');
      expect((gpio as unknown as { chip: { name: string; label: string } }).chip).toMatchObject({ name: 'gpiochip0', label: profile.startsWith('pi5') ? 'pinctrl-rp1' : 'pinctrl-bcm2711' });
      expect(messages()).toContainEqual(expect.stringMatching(/^gpio backend auto: chardev, because the libgpiod tools .* are installed \(preferred over sysfs/));
    },
  );

  it.each<[SysfsGpioProfile, number]>([['pi5-6.12', 588], ['pi4-trixie', 529]])(
    '%s: auto falls back to sysfs without the libgpiod tools, says why, and numbers GPIO17 as %i',
    async (profile, gpio17) => {
      const { logger, messages } = capture();
      const gpio = await create({ ...(await world({ profile, classGpio: true, onoff: true, chardev: true, tools: false })), logger });
      expect(gpio.backend).toBe('sysfs');
      expect((gpio as unknown as { numbering: { base: number } }).numbering.base + 17).toBe(gpio17);
      expect(messages()).toContainEqual(expect.stringMatching(/^gpio backend auto: sysfs, because the character device is not usable: .*apt install gpiod/));
    },
  );

  it('auto uses sysfs without any /dev/gpiochip*, and the character device without sysfs GPIO or without onoff', async () => {
    expect((await create(await world({ classGpio: true, onoff: true, chardev: false }))).backend).toBe('sysfs');
    expect((await create(await world({ classGpio: false, onoff: true, chardev: true }))).backend).toBe('chardev');
    expect((await create(await world({ classGpio: true, onoff: false, chardev: true }))).backend).toBe('chardev');
  });

  it('auto throws BackendUnavailableError naming both reasons when nothing fits', async () => {
    const error = await createGpioController(await world({ classGpio: false, onoff: true, chardev: false })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toMatch(/chardev: no .*gpiochip\*; sysfs: .*export does not exist/);
  });

  it('builds the named backend', async () => {
    const options = await world({ classGpio: true, onoff: true, chardev: true });
    expect((await create({ ...options, backend: 'chardev' })).backend).toBe('chardev');
    expect((await create({ ...options, backend: 'sysfs' })).backend).toBe('sysfs');
  });
});
