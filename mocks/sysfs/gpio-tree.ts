import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeGpioChip {
  label: string;
  base: number;
  ngpio: number;
}

const PI5_FROM_6_6 = [
  { label: 'gpio-brcmstb@107d508500', base: 512, ngpio: 32 },
  { label: 'gpio-brcmstb@107d508520', base: 544, ngpio: 4 },
  { label: 'gpio-brcmstb@107d517c00', base: 548, ngpio: 17 },
  { label: 'gpio-brcmstb@107d517c20', base: 565, ngpio: 6 },
  { label: 'pinctrl-rp1', base: 571, ngpio: 54 },
] as const;

/** The chips each board/kernel exposes under /sys/class/gpio. */
export const SYSFS_GPIO_PROFILES = {
  /** Pi 3B+ on 6.1: SoC at base 0, the firmware expander just below 512. */
  'pi3-6.1': [
    { label: 'pinctrl-bcm2835', base: 0, ngpio: 54 },
    { label: 'raspberrypi-exp-gpio', base: 504, ngpio: 8 },
  ],
  /** Pi 4 on 6.1 (Bullseye / early Bookworm). */
  'pi4-6.1': [
    { label: 'pinctrl-bcm2711', base: 0, ngpio: 58 },
    { label: 'raspberrypi-exp-gpio', base: 504, ngpio: 8 },
  ],
  /** Pi 4 on 6.6+: dynamic bases start at 512, so GPIO17 is 529. */
  'pi4-6.6': [
    { label: 'pinctrl-bcm2711', base: 512, ngpio: 58 },
    { label: 'raspberrypi-exp-gpio', base: 570, ngpio: 8 },
  ],
  /**
   * Pi 5 on 6.1 (the first Bookworm kernels): the RP1 at base 399 (GPIO17 = 416), not 0 as on a Pi 3/4 with 6.1.
   * Only the RP1 is modelled: the bases of the SoC's own blocks on 6.1 are not known here.
   */
  'pi5-6.1': [{ label: 'pinctrl-rp1', base: 399, ngpio: 54 }],
  /** Pi 5 on 6.6+: the SoC's own GPIO blocks come first, the RP1 (header pins) at 571, so GPIO17 is 588. */
  'pi5-6.6': PI5_FROM_6_6,
  /**
   * Pi 5 on 6.12 (Trixie, or Bookworm updated): sysfs GPIO is still built (bcm2712_defconfig has
   * CONFIG_GPIO_SYSFS=y), with the same bases as 6.6; the character device lists the RP1 as gpiochip0.
   */
  'pi5-6.12': PI5_FROM_6_6,
  /** Pi 4 on Trixie (6.12): sysfs present, bases as on 6.6. */
  'pi4-trixie': [
    { label: 'pinctrl-bcm2711', base: 512, ngpio: 58 },
    { label: 'raspberrypi-exp-gpio', base: 570, ngpio: 8 },
  ],
  /** Not a Pi: only an expander-like chip. */
  'no-pi-controller': [{ label: 'raspberrypi-exp-gpio', base: 504, ngpio: 8 }],
} as const satisfies Record<string, readonly FakeGpioChip[]>;

export type SysfsGpioProfile = keyof typeof SYSFS_GPIO_PROFILES;

export interface ExportedLineState {
  direction: 'in' | 'out';
  /** Logical value as the `value` file shows it. */
  value?: 0 | 1;
  activeLow?: boolean;
  edge?: 'none' | 'rising' | 'falling' | 'both';
}

export interface SysfsGpioTree {
  /** Pass as `sysfsRoot`. */
  readonly root: string;
  readonly classDir: string;
  /** Creates `gpioN/` as the kernel does after an export (or as a previous run left it). */
  exportLine(sysfsNumber: number, state: ExportedLineState): Promise<void>;
  lineDir(sysfsNumber: number): string;
  cleanup(): Promise<void>;
}

/**
 * Builds a temporary sysfs tree shaped like a Pi's `/sys/class/gpio` for a profile or a custom chip list.
 * `withClassGpio: false` builds a kernel without sysfs GPIO (CONFIG_GPIO_SYSFS unset): `/sys` without `class/gpio`.
 */
export async function createSysfsGpioTree(
  profile: SysfsGpioProfile | readonly FakeGpioChip[],
  options: { withClassGpio?: boolean } = {},
): Promise<SysfsGpioTree> {
  const root = await mkdtemp(join(tmpdir(), 'gpio-sysfs-'));
  const classDir = join(root, 'class', 'gpio');
  const chips = typeof profile === 'string' ? SYSFS_GPIO_PROFILES[profile] : profile;
  if (options.withClassGpio === false) {
    await mkdir(join(root, 'class'), { recursive: true });
  } else {
    await mkdir(classDir, { recursive: true });
    await writeFile(join(classDir, 'export'), '');
    await writeFile(join(classDir, 'unexport'), '');
    for (const chip of chips) {
      const dir = join(classDir, `gpiochip${chip.base}`);
      await mkdir(dir);
      await writeFile(join(dir, 'label'), `${chip.label}\n`);
      await writeFile(join(dir, 'base'), `${chip.base}\n`);
      await writeFile(join(dir, 'ngpio'), `${chip.ngpio}\n`);
    }
  }
  const lineDir = (n: number): string => join(classDir, `gpio${n}`);
  return {
    root,
    classDir,
    lineDir,
    async exportLine(n, state) {
      const dir = lineDir(n);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'direction'), `${state.direction}\n`);
      await writeFile(join(dir, 'value'), `${state.value ?? 0}\n`);
      await writeFile(join(dir, 'active_low'), state.activeLow ? '1\n' : '0\n');
      await writeFile(join(dir, 'edge'), `${state.edge ?? 'none'}\n`);
    },
    async cleanup() {
      await rm(root, { recursive: true, force: true });
    },
  };
}
