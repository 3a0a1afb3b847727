import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendUnavailableError, DeviceBusyError, HardwareIoError } from '../../../src/drivers/errors.js';
import { planSysfsOutput, readSysfsDirection, SysfsGpioController } from '../../../src/drivers/gpio/sysfs-backend.js';
import type { BitValue } from '../../../src/drivers/types.js';
import { silentLogger } from '../../../src/util/logger.js';
import { createFakeOnoff } from '../../../mocks/gpio/fake-onoff.js';
import type { FakeOnoff } from '../../../mocks/gpio/fake-onoff.js';
import { createSysfsGpioTree } from '../../../mocks/sysfs/gpio-tree.js';
import type { SysfsGpioProfile, SysfsGpioTree } from '../../../mocks/sysfs/gpio-tree.js';

const trees: SysfsGpioTree[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(trees.splice(0).map((t) => t.cleanup()));
});

async function setup(profile: SysfsGpioProfile = 'pi4-6.6'): Promise<{ tree: SysfsGpioTree; onoff: FakeOnoff; gpio: SysfsGpioController }> {
  const tree = await createSysfsGpioTree(profile);
  trees.push(tree);
  const onoff = createFakeOnoff(tree.root);
  const gpio = await SysfsGpioController.create({ logger: silentLogger(), sysfsRoot: tree.root, loadOnoff: async () => onoff });
  return { tree, onoff, gpio };
}

const fileOf = (tree: SysfsGpioTree, n: number, name: string): Promise<string> => readFile(join(tree.lineDir(n), name), 'utf8').then((s) => s.trim());

describe('planSysfsOutput', () => {
  it('keeps an exported output untouched and sets raw levels for new ones', () => {
    expect(planSysfsOutput('out', { initial: 0 })).toEqual({ direction: 'out', keepLevel: true });
    expect(planSysfsOutput(undefined, {})).toEqual({ direction: 'low', keepLevel: false });
    expect(planSysfsOutput('in', { initial: 1 })).toEqual({ direction: 'high', keepLevel: false });
    // high/low are electrical: logical 1 on an active-low relay board is a low pin.
    expect(planSysfsOutput(undefined, { initial: 1, activeLow: true })).toEqual({ direction: 'low', keepLevel: false });
    expect(planSysfsOutput(undefined, { initial: 0, activeLow: true })).toEqual({ direction: 'high', keepLevel: false });
  });

  it('reads the direction of exported lines from the tree', async () => {
    const tree = await createSysfsGpioTree('pi4-6.6');
    trees.push(tree);
    await tree.exportLine(529, { direction: 'out', value: 1 });
    await tree.exportLine(530, { direction: 'in' });
    expect(await readSysfsDirection(tree.root, 529)).toBe('out');
    expect(await readSysfsDirection(tree.root, 530)).toBe('in');
    expect(await readSysfsDirection(tree.root, 531)).toBeUndefined();
  });
});

describe('SysfsGpioController', () => {
  it('exports outputs at base + BCM with the initial level in the direction write', async () => {
    const { tree, onoff, gpio } = await setup('pi5-6.6');
    const led = await gpio.openOutput(17, { initial: 1 });
    expect(onoff.constructed).toEqual([{ gpio: 588, direction: 'high', edge: undefined, options: { activeLow: false, reconfigureDirection: false } }]);
    expect(await fileOf(tree, 588, 'direction')).toBe('out');
    expect(await fileOf(tree, 588, 'value')).toBe('1');
    await led.write(0);
    expect(onoff.level(588)).toBe(0);
    expect(await led.read()).toBe(0);
    expect(gpio.backend).toBe('sysfs');
  });

  it('does not reset a pin a previous run left driven as an output (no relay glitch on restart)', async () => {
    const { tree, onoff, gpio } = await setup('pi4-6.6');
    await tree.exportLine(529, { direction: 'out', value: 1 });
    const relay = await gpio.openOutput(17, { initial: 0 });
    expect(onoff.constructed[0]).toMatchObject({ gpio: 529, direction: 'out', options: { reconfigureDirection: false } });
    expect(await fileOf(tree, 529, 'value')).toBe('1');
    expect(await relay.read()).toBe(1);
  });

  it('drives an active-low output to the electrical level that means the logical value', async () => {
    const { tree, onoff, gpio } = await setup('pi4-6.1');
    const relay = await gpio.openOutput(27, { initial: 1, activeLow: true });
    expect(onoff.level(27)).toBe(0);
    expect(await fileOf(tree, 27, 'active_low')).toBe('1');
    expect(await relay.read()).toBe(1);
    await relay.write(0);
    expect(onoff.level(27)).toBe(1);
  });

  it('configures inputs with both kernel edges, active-low, and debounces in process', async () => {
    vi.useFakeTimers();
    const { tree, onoff, gpio } = await setup('pi4-6.6');
    const button = await gpio.openInput(22, { edge: 'falling', debounceMs: 25, activeLow: true });
    expect(onoff.constructed[0]).toEqual({ gpio: 534, direction: 'in', edge: 'both', options: { activeLow: true, debounceTimeout: 0 } });
    expect(await fileOf(tree, 534, 'edge')).toBe('both');
    expect(await button.read()).toBe(1);
    const seen: BitValue[] = [];
    button.watch((v) => seen.push(v));
    for (const level of [1, 0, 1] as BitValue[]) {
      onoff.interrupt(534, level);
      vi.advanceTimersByTime(5);
    }
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(25);
    expect(seen).toEqual([0]);
    onoff.interrupt(534, 0);
    vi.advanceTimersByTime(25);
    expect(seen).toEqual([0]);
    await button.close();
    await expect(readFile(join(tree.lineDir(534), 'value'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('maps sysfs failures to typed errors with a hint', async () => {
    const { onoff, gpio } = await setup('pi4-6.6');
    onoff.failNextConstruct('EBUSY');
    await expect(gpio.openInput(4)).rejects.toBeInstanceOf(DeviceBusyError);
    onoff.failNextConstruct('EACCES');
    await expect(gpio.openOutput(5)).rejects.toThrow(/gpio group/);
    onoff.failNextConstruct('EINVAL');
    const error = await gpio.openOutput(6).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HardwareIoError);
    expect(error).toMatchObject({ code: 'EINVAL', device: 'gpio6' });
    // A failed open leaves the line free for another try.
    await gpio.openOutput(6);
  });

  it('refuses a line twice, writes to inputs and use after close', async () => {
    const { gpio } = await setup();
    const input = await gpio.openInput(17);
    await expect(gpio.openOutput(17)).rejects.toBeInstanceOf(DeviceBusyError);
    await expect(input.write(1)).rejects.toMatchObject({ code: 'EPERM' });
    await gpio.close();
    await expect(input.read()).rejects.toBeInstanceOf(HardwareIoError);
    await expect(gpio.openInput(18)).rejects.toBeInstanceOf(HardwareIoError);
  });

  it('is unavailable without /sys/class/gpio (a kernel without CONFIG_GPIO_SYSFS), when onoff is missing, or when export is not writable', async () => {
    const trixie = await createSysfsGpioTree('pi5-6.6', { withClassGpio: false });
    trees.push(trixie);
    const load = vi.fn();
    await expect(SysfsGpioController.create({ logger: silentLogger(), sysfsRoot: trixie.root, loadOnoff: load })).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(load).not.toHaveBeenCalled();

    const tree = await createSysfsGpioTree('pi4-6.6');
    trees.push(tree);
    const missing = async (): Promise<never> => {
      throw new BackendUnavailableError('gpio', 'onoff missing');
    };
    await expect(SysfsGpioController.create({ logger: silentLogger(), sysfsRoot: tree.root, loadOnoff: missing })).rejects.toThrow('onoff missing');
    const locked = { Gpio: Object.assign(function () {}, { accessible: false }) as never };
    await expect(SysfsGpioController.create({ logger: silentLogger(), sysfsRoot: tree.root, loadOnoff: async () => locked })).rejects.toThrow(/gpio group/);
  });
});
