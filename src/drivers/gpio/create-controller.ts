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
 * The GPIO controller for this system. `auto` takes sysfs (onoff) when `/sys/class/gpio/export` exists and onoff
 * loads, else the character device (libgpiod tools) when a `/dev/gpiochip*` with a Pi pin controller exists, else
 * throws BackendUnavailableError, and the caller (the composition root) decides whether to fall back to simulation.
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
  const exportFile = join(options.sysfsRoot ?? '/sys', 'class', 'gpio', 'export');
  if (await exists(exportFile)) {
    try {
      return await createSysfs(options);
    } catch (error) {
      if (!(error instanceof HardwareError)) throw error;
      reasons.push(`sysfs: ${error.message}`);
      logger.info({ err: error }, 'sysfs GPIO not usable, trying the character device');
    }
  } else {
    reasons.push(`sysfs: ${exportFile} does not exist`);
  }
  const devRoot = options.devRoot ?? '/dev';
  const chips = (await readdir(devRoot).catch(() => [] as string[])).filter((name) => /^gpiochip\d+$/.test(name));
  if (chips.length > 0) {
    try {
      return await createChardev(options);
    } catch (error) {
      if (!(error instanceof HardwareError)) throw error;
      reasons.push(`chardev: ${error.message}`);
    }
  } else {
    reasons.push(`chardev: no ${join(devRoot, 'gpiochip*')}`);
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
