import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSimulatedGpio, type SimulatedGpio } from '../../../mocks/gpio/simulated-gpio.js';
import { inputSchema, type InputSection } from '../../../src/gateway/config/devices-schema.js';
import { InputWatcher, type InputEvent } from '../../../src/gateway/inputs/input-watcher.js';
import { silentLogger } from '../../../src/util/logger.js';

const input = (spec: Record<string, unknown>): InputSection => inputSchema.parse({ name: 'button', pin: 17, ...spec });

describe('InputWatcher', () => {
  let gpio: SimulatedGpio;
  let events: InputEvent[];
  const watch = async (spec: Record<string, unknown>) => {
    const watcher = new InputWatcher(input(spec), gpio, (event) => events.push(event), silentLogger());
    await watcher.start();
    return watcher;
  };

  beforeEach(() => {
    vi.useFakeTimers();
    gpio = createSimulatedGpio();
    events = [];
  });
  afterEach(async () => {
    await gpio.close();
    vi.useRealTimers();
  });

  it('reports the level at start, then debounced edges, with active-low applied', async () => {
    const watcher = await watch({ pull: 'up', active_low: true, debounce: '50ms' });
    expect(gpio.mode(17)).toBe('input');
    expect(events).toEqual([{ input: 'button', payload: 'OFF' }]);

    gpio.drive(17, 0); // pressed, with bounces
    await vi.advanceTimersByTimeAsync(10);
    gpio.drive(17, 1);
    await vi.advanceTimersByTimeAsync(10);
    gpio.drive(17, 0);
    await vi.advanceTimersByTimeAsync(49);
    expect(events).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(events.map((e) => e.payload)).toEqual(['OFF', 'ON']);

    gpio.drive(17, 1);
    await vi.advanceTimersByTimeAsync(60);
    expect(events.map((e) => e.payload)).toEqual(['OFF', 'ON', 'OFF']);
    await watcher.stop();
  });

  it('uses the configured payloads, and the level of a pressed button at start', async () => {
    gpio.drive(5, 1);
    const watcher = new InputWatcher(
      input({ name: 'door', pin: 5, pull: 'none', payload_on: 'OPEN', payload_off: 'CLOSED', debounce: '5ms' }),
      gpio,
      (event) => events.push(event),
      silentLogger(),
    );
    await watcher.start();
    gpio.drive(5, 0);
    await vi.advanceTimersByTimeAsync(10);
    expect(events).toEqual([
      { input: 'door', payload: 'OPEN' },
      { input: 'door', payload: 'CLOSED' },
    ]);
    await watcher.stop();
  });

  it('only reports the configured edge', async () => {
    const watcher = await watch({ pull: 'down', edge: 'rising', debounce: '10ms' });
    gpio.drive(17, 1);
    await vi.advanceTimersByTimeAsync(20);
    gpio.drive(17, 0);
    await vi.advanceTimersByTimeAsync(20);
    expect(events.map((e) => e.payload)).toEqual(['OFF', 'ON']);
    await watcher.stop();
  });

  it('stops reporting and frees the pin on stop()', async () => {
    const watcher = await watch({ debounce: '10ms' });
    await watcher.stop();
    expect(gpio.isOpen(17)).toBe(false);
    gpio.drive(17, 0);
    await vi.advanceTimersByTimeAsync(50);
    expect(events).toHaveLength(1);
    await watcher.stop(); // twice is harmless
  });

  it('a failed start leaves the pin free for the next attempt', async () => {
    gpio.injectFault(17, { op: 'read', code: 'EIO' });
    await expect(watch({})).rejects.toThrow(/EIO/);
    expect(gpio.isOpen(17)).toBe(false);
    const watcher = await watch({});
    expect(events.map((e) => e.payload)).toEqual(['ON']); // pulled up, active high
    await watcher.stop();
  });

  it('refuses a pin that is already in use', async () => {
    const first = await watch({});
    await expect(watch({})).rejects.toThrow();
    await first.stop();
  });
});
