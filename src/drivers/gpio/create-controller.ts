import { access, constants, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendUnavailableError, HardwareError } from '../errors.js';
import type { GpioController } from '../types.js';
import type { Logger } from '../../util/logger.js';
import { ChardevGpioController } from './chardev/chardev-backend.js';
import type { GpiodToolPaths } from './chardev/chardev-backend.js';
import type { SpawnFn } from './chardev/tool-process.js';
import type { OnoffModule } from './onoff-loader.js';
import { SysfsGpioController } from './sysfs-backend.js';

export type GpioBackendName = 'auto' | 'sysfs' | 'chardev';

export interface CreateGpioControllerOptions {
  backend: GpioBackendName;
  logger: Logger;
  /** Root of sysfs (`/sys`). */
  sysfsRoot?: string;
  /** Root of the device nodes (`/dev`). */
  devRoot?: string;
  /** Overrides the detected sysfs chip base (sysfs backend only). */
  chipBase?: number;
  /** Injection points for tests. */
  loadOnoff?: () => Promise<OnoffModule>;
  gpiodTools?: Partial<GpiodToolPaths>;
  spawn?: SpawnFn;
  startupGraceMs?: number;
}

/**
 * The GPIO controller for this system. `auto` takes the character device (libgpiod tools) when a `/dev/gpiochip*`
 * with a Pi pin controller exists and the tools run, else sysfs (onoff) when `/sys/class/gpio/export` exists and
 * onoff loads, else throws BackendUnavailableError, and the caller (the composition root) decides whether to fall
 * back to simulation. Both exist on current Raspberry Pi OS kernels (sysfs GPIO is still built in, e.g. on a Pi 5
 * with 6.12); the character device is preferred because it is the interface the kernel maintains (sysfs GPIO is
 * deprecated), it sets bias and debounces in the kernel, and its line offsets are BCM numbers with no base to add.
 */
export async function createGpioController(options: CreateGpioControllerOptions): Promise<GpioController> {
  switch (options.backend) {
    case 'sysfs':
      return createSysfs(options);
    case 'chardev':
      return createChardev(options);
    case 'auto':
      return createAuto(options);
  }
}

function createSysfs(options: CreateGpioControllerOptions): Promise<SysfsGpioController> {
  return SysfsGpioController.create({ logger: options.logger, sysfsRoot: options.sysfsRoot, chipBase: options.chipBase, loadOnoff: options.loadOnoff });
}

function createChardev(options: CreateGpioControllerOptions): Promise<ChardevGpioController> {
  return ChardevGpioController.create({
    logger: options.logger,
    devRoot: options.devRoot,
    tools: options.gpiodTools,
    spawn: options.spawn,
    startupGraceMs: options.startupGraceMs,
  });
}

async function createAuto(options: CreateGpioControllerOptions): Promise<GpioController> {
  const logger = options.logger.child({ module: 'gpio' });
  const reasons: string[] = [];
  const devRoot = options.devRoot ?? '/dev';
  const chips = (await readdir(devRoot).catch(() => [] as string[])).filter((name) => /^gpiochip\d+$/.test(name));
  if (chips.length > 0) {
    try {
      const chardev = await createChardev(options);
      logger.info(
        { backend: 'chardev', libgpiod: chardev.flavour.version },
        `gpio backend auto: chardev, because the libgpiod tools (v${chardev.flavour.version}) are installed (preferred over sysfs: kernel bias and debounce, no numbering offset)`,
      );
      return chardev;
    } catch (error) {
      if (!(error instanceof HardwareError)) throw error;
      reasons.push(`chardev: ${error.message}`);
    }
  } else {
    reasons.push(`chardev: no ${join(devRoot, 'gpiochip*')}`);
  }
  const exportFile = join(options.sysfsRoot ?? '/sys', 'class', 'gpio', 'export');
  if (await exists(exportFile)) {
    try {
      const sysfs = await createSysfs(options);
      logger.info({ backend: 'sysfs', reason: reasons[0] }, `gpio backend auto: sysfs, because the character device is not usable: ${reasons[0]!.replace(/^chardev: /, '')}`);
      return sysfs;
    } catch (error) {
      if (!(error instanceof HardwareError)) throw error;
      reasons.push(`sysfs: ${error.message}`);
    }
  } else {
    reasons.push(`sysfs: ${exportFile} does not exist`);
  }
  throw new BackendUnavailableError('gpio', `no usable GPIO backend (${reasons.join('; ')})`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}
