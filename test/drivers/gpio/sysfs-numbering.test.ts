import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, DeviceNotPresentError } from '../../../src/drivers/errors.js';
import { describeSysfsMapping, resolveSysfsNumbering, toSysfsNumber } from '../../../src/drivers/gpio/sysfs-numbering.js';
import { createSysfsGpioTree } from '../../../mocks/sysfs/gpio-tree.js';
import type { SysfsGpioProfile, SysfsGpioTree } from '../../../mocks/sysfs/gpio-tree.js';

const trees: SysfsGpioTree[] = [];
async function tree(...args: Parameters<typeof createSysfsGpioTree>): Promise<SysfsGpioTree> {
  const created = await createSysfsGpioTree(...args);
  trees.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(trees.splice(0).map((t) => t.cleanup()));
});

describe('resolveSysfsNumbering', () => {
  it.each<[SysfsGpioProfile, string, number, number]>([
    ['pi3-6.1', 'pinctrl-bcm2835', 0, 17],
    ['pi4-6.1', 'pinctrl-bcm2711', 0, 17],
    ['pi4-6.6', 'pinctrl-bcm2711', 512, 529],
    ['pi5-6.1', 'pinctrl-rp1', 399, 416],
    ['pi5-6.6', 'pinctrl-rp1', 571, 588],
    ['pi5-6.12', 'pinctrl-rp1', 571, 588],
    ['pi4-trixie', 'pinctrl-bcm2711', 512, 529],
  ])('%s: picks %s at base %i (GPIO17 = sysfs %i)', async (profile, label, base, gpio17) => {
    const { root } = await tree(profile);
    const numbering = await resolveSysfsNumbering({ sysfsRoot: root });
    expect(numbering).toMatchObject({ label, base, source: 'detected' });
    expect(toSysfsNumber(numbering, 17)).toBe(gpio17);
    expect(describeSysfsMapping(numbering, 17)).toBe(`gpio17 → sysfs ${gpio17} (${label} base ${base})`);
  });

  it('never picks the firmware expander, even when it is the only chip', async () => {
    const { root } = await tree('no-pi-controller');
    const error = await resolveSysfsNumbering({ sysfsRoot: root }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceNotPresentError);
    expect((error as Error).message).toContain('raspberrypi-exp-gpio');
    expect((error as Error).message).toContain('gpio_chip_base');
  });

  it('uses the chipBase override, with the label of the chip at that base when there is one', async () => {
    const { root } = await tree('pi5-6.6');
    const numbering = await resolveSysfsNumbering({ sysfsRoot: root, chipBase: 512 });
    expect(numbering).toMatchObject({ base: 512, label: 'gpio-brcmstb@107d508500', ngpio: 32, source: 'override' });
    expect(describeSysfsMapping(numbering, 4)).toBe('gpio4 → sysfs 516 (gpio-brcmstb@107d508500 base 512, chipBase override)');
  });

  it('accepts an override that matches no chip, and one on a tree without any chip list', async () => {
    const { root } = await tree('no-pi-controller');
    const numbering = await resolveSysfsNumbering({ sysfsRoot: root, chipBase: 100 });
    expect(toSysfsNumber(numbering, 5)).toBe(105);
    expect(numbering.label).toBe('chipBase override');
    const trixie = await tree('pi5-6.6', { withClassGpio: false });
    expect((await resolveSysfsNumbering({ sysfsRoot: trixie.root, chipBase: 571 })).base).toBe(571);
  });

  it('reports a missing /sys/class/gpio (kernel without CONFIG_GPIO_SYSFS) as BackendUnavailableError', async () => {
    const { root } = await tree('pi5-6.6', { withClassGpio: false });
    await expect(resolveSysfsNumbering({ sysfsRoot: root })).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('rejects lines beyond the chip and negative ones', async () => {
    const { root } = await tree('pi4-6.6');
    const numbering = await resolveSysfsNumbering({ sysfsRoot: root });
    expect(toSysfsNumber(numbering, 57)).toBe(569);
    expect(() => toSysfsNumber(numbering, 58)).toThrow(DeviceNotPresentError);
    expect(() => toSysfsNumber(numbering, -1)).toThrow(DeviceNotPresentError);
    await expect(resolveSysfsNumbering({ sysfsRoot: root, chipBase: -5 })).rejects.toBeInstanceOf(RangeError);
  });
});
