import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeviceBusyError, DeviceNotPresentError, HardwareIoError } from '../../../src/drivers/errors.js';
import { createSimulatedGpio } from '../../../mocks/gpio/simulated-gpio.js';
import type { BitValue } from '../../../src/drivers/types.js';

describe('createSimulatedGpio', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000 }));
  afterEach(() => vi.useRealTimers());

  it('records output levels and history, honouring active-low', async () => {
    const sim = createSimulatedGpio();
    const relay = await sim.openOutput(27, { activeLow: true, initial: 0 });
    expect(sim.level(27)).toBe(1);
    vi.advanceTimersByTime(10);
    await relay.write(1);
    expect(sim.level(27)).toBe(0);
    expect(await relay.read()).toBe(1);
    expect(sim.history(27)).toEqual([
      { at: 1_000, level: 1, value: 0 },
      { at: 1_010, level: 0, value: 1 },
    ]);
    expect(sim.mode(27)).toBe('output');
    expect(sim.backend).toBe('mock');
  });

  it('keeps the level of a pin still driven as an output when reopened (restart without glitch)', async () => {
    const sim = createSimulatedGpio();
    const first = await sim.openOutput(5, { initial: 1 });
    expect(sim.level(5)).toBe(1);
    await sim.close();
    expect(sim.isOpen(5)).toBe(false);
    const again = await sim.openOutput(5, { initial: 0 });
    expect(await again.read()).toBe(1);
    expect(sim.history(5)).toHaveLength(1);
    await expect(first.write(0)).rejects.toBeInstanceOf(HardwareIoError);
  });

  it('fires debounced edges on driven inputs, active-low and pull-up applied', async () => {
    const sim = createSimulatedGpio();
    const button = await sim.openInput(17, { edge: 'both', debounceMs: 30, activeLow: true, pull: 'up' });
    expect(sim.level(17)).toBe(1);
    expect(await button.read()).toBe(0);
    const seen: BitValue[] = [];
    button.watch((v) => seen.push(v));
    for (const level of [0, 1, 0, 1, 0] as BitValue[]) {
      sim.drive(17, level);
      vi.advanceTimersByTime(2);
    }
    expect(seen).toEqual([]);
    expect(await button.read()).toBe(1);
    vi.advanceTimersByTime(30);
    expect(seen).toEqual([1]);
    sim.drive(17, 1);
    vi.advanceTimersByTime(30);
    expect(seen).toEqual([1, 0]);
  });

  it('filters by edge and stops when the watcher is removed', async () => {
    const sim = createSimulatedGpio();
    const line = await sim.openInput(22, { edge: 'rising' });
    const seen: BitValue[] = [];
    const stop = line.watch((v) => seen.push(v));
    sim.drive(22, 1);
    sim.drive(22, 0);
    sim.drive(22, 1);
    stop();
    sim.drive(22, 0);
    sim.drive(22, 1);
    expect(seen).toEqual([1, 1]);
  });

  it('injects EIO / EBUSY on the next operations only', async () => {
    const sim = createSimulatedGpio();
    const line = await sim.openOutput(6);
    sim.injectFault(6, { op: 'write', code: 'EIO' });
    sim.injectFault(6, { op: 'read', code: 'EBUSY', times: 2 });
    await expect(line.write(1)).rejects.toMatchObject({ constructor: HardwareIoError, code: 'EIO', device: 'gpio6' });
    await line.write(1);
    await expect(line.read()).rejects.toBeInstanceOf(DeviceBusyError);
    await expect(line.read()).rejects.toBeInstanceOf(DeviceBusyError);
    expect(await line.read()).toBe(1);
    sim.injectFault(7, { op: 'open', code: 'EBUSY' });
    await expect(sim.openInput(7)).rejects.toBeInstanceOf(DeviceBusyError);
    expect(sim.isOpen(7)).toBe(false);
    await sim.openInput(7);
  });

  it('models a line that disappears and comes back', async () => {
    const sim = createSimulatedGpio();
    const line = await sim.openInput(4, { edge: 'both' });
    const seen: BitValue[] = [];
    line.watch((v) => seen.push(v));
    sim.remove(4);
    await expect(line.read()).rejects.toBeInstanceOf(DeviceNotPresentError);
    sim.drive(4, 1);
    expect(seen).toEqual([]);
    sim.restore(4);
    expect(await line.read()).toBe(1);
    sim.drive(4, 0);
    expect(seen).toEqual([0]);
  });

  it('refuses a second open of a line, bad numbers, writes to inputs and drives of outputs', async () => {
    const sim = createSimulatedGpio({ lines: 28 });
    const input = await sim.openInput(17);
    await expect(sim.openOutput(17)).rejects.toBeInstanceOf(DeviceBusyError);
    await expect(sim.openInput(28)).rejects.toBeInstanceOf(DeviceNotPresentError);
    await expect(input.write(1)).rejects.toMatchObject({ code: 'EPERM' });
    await sim.openOutput(18);
    expect(() => sim.drive(18, 1)).toThrow(/output/);
    await input.close();
    await sim.openOutput(17);
  });
});
