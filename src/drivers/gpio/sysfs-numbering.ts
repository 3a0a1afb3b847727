import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendUnavailableError, DeviceNotPresentError, fromOsError } from '../errors.js';
import { lineName, pickPiPinController } from './pi-chips.js';

export interface SysfsGpioChip {
  /** Directory name, e.g. `gpiochip512`. */
  name: string;
  label: string;
  base: number;
  ngpio: number;
}

/** How BCM numbers map to sysfs numbers on this system. */
export interface SysfsNumbering {
  base: number;
  /** Label of the chosen chip, or `chipBase override` when the configured base matches no chip. */
  label: string;
  /** Number of lines of the chosen chip; undefined when only an override is known. */
  ngpio: number | undefined;
  source: 'detected' | 'override';
  /** Every chip found, for diagnostics. */
  chips: readonly SysfsGpioChip[];
}

export interface ResolveSysfsNumberingOptions {
  /** Root of sysfs; `/sys` on a real system, a temporary tree in tests. */
  sysfsRoot?: string;
  /** Forces the base (from config) when detection picks the wrong chip or none. */
  chipBase?: number;
}

const DEVICE = 'gpiochip';

/** Reads `<sysfsRoot>/class/gpio/gpiochip*\/{label,base,ngpio}`. */
async function listSysfsGpioChips(sysfsRoot = '/sys'): Promise<SysfsGpioChip[]> {
  const classDir = join(sysfsRoot, 'class', 'gpio');
  let entries: string[];
  try {
    entries = await readdir(classDir);
  } catch (error) {
    if (isCode(error, 'ENOENT')) {
      throw new BackendUnavailableError(DEVICE, `${classDir} does not exist: this kernel is built without sysfs GPIO (CONFIG_GPIO_SYSFS); use the chardev backend`, {
        code: 'ENOENT',
        cause: error,
      });
    }
    throw fromOsError(DEVICE, error, `listing ${classDir}`);
  }
  const chips: SysfsGpioChip[] = [];
  for (const name of entries.filter((entry) => /^gpiochip\d+$/.test(entry)).sort()) {
    const dir = join(classDir, name);
    try {
      const [label, base, ngpio] = await Promise.all(['label', 'base', 'ngpio'].map((file) => readFile(join(dir, file), 'utf8')));
      chips.push({ name, label: label!.trim(), base: parseInteger(base!, dir), ngpio: parseInteger(ngpio!, dir) });
    } catch (error) {
      throw fromOsError(DEVICE, error, `reading ${dir}`);
    }
  }
  return chips.sort((a, b) => a.base - b.base);
}

/**
 * Finds the Pi's pin controller among the sysfs GPIO chips and returns its base, so that BCM n is sysfs base + n.
 * The base depends on board and kernel: 0 on a Pi 3/4 up to 6.1, 512 from 6.6; on a Pi 5 the RP1 was at 399 on
 * 6.1 and is at 571 from 6.6. Finding the chip by its label copes with all of them.
 */
export async function resolveSysfsNumbering(options: ResolveSysfsNumberingOptions = {}): Promise<SysfsNumbering> {
  const { sysfsRoot = '/sys', chipBase } = options;
  if (chipBase !== undefined && (!Number.isInteger(chipBase) || chipBase < 0)) {
    throw new RangeError(`chipBase must be a non-negative integer, got ${chipBase}`);
  }
  let chips: SysfsGpioChip[];
  try {
    chips = await listSysfsGpioChips(sysfsRoot);
  } catch (error) {
    // With an explicit base the tree is only read for a label; an unreadable one is no reason to refuse.
    if (chipBase === undefined) throw error;
    chips = [];
  }
  if (chipBase !== undefined) {
    const chip = chips.find((candidate) => candidate.base === chipBase);
    return { base: chipBase, label: chip?.label ?? 'chipBase override', ngpio: chip?.ngpio, source: 'override', chips };
  }
  const chip = pickPiPinController(chips);
  if (!chip) {
    const found = chips.length === 0 ? 'no GPIO chips' : chips.map((c) => `${c.name} [${c.label}]`).join(', ');
    throw new DeviceNotPresentError(
      DEVICE,
      `no Raspberry Pi pin controller (pinctrl-rp1, pinctrl-bcm2711, pinctrl-bcm2835) under ${join(sysfsRoot, 'class', 'gpio')}; found ${found}. Set hardware.gpio_chip_base to override`,
    );
  }
  return { base: chip.base, label: chip.label, ngpio: chip.ngpio, source: 'detected', chips };
}

/** BCM number → sysfs number; throws DeviceNotPresentError when the chip has no such line. */
export function toSysfsNumber(numbering: SysfsNumbering, bcm: number): number {
  const limit = numbering.ngpio;
  if (!Number.isInteger(bcm) || bcm < 0 || (limit !== undefined && bcm >= limit)) {
    throw new DeviceNotPresentError(lineName(bcm), `no such line on ${numbering.label} (${limit ?? '?'} lines)`);
  }
  return numbering.base + bcm;
}

/** The start-up log line: `gpio17 → sysfs 529 (pinctrl-bcm2711 base 512)`. */
export function describeSysfsMapping(numbering: SysfsNumbering, bcm: number): string {
  const source = numbering.source === 'override' ? ', chipBase override' : '';
  return `${lineName(bcm)} → sysfs ${toSysfsNumber(numbering, bcm)} (${numbering.label} base ${numbering.base}${source})`;
}

function parseInteger(text: string, where: string): number {
  const value = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(value)) throw new DeviceNotPresentError(DEVICE, `unreadable number "${text.trim()}" in ${where}`);
  return value;
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
