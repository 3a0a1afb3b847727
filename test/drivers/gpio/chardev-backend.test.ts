import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendUnavailableError, DeviceBusyError, DeviceNotPresentError } from '../../../src/drivers/errors.js';
import { ChardevGpioController } from '../../../src/drivers/gpio/chardev/chardev-backend.js';
import type { BitValue, GpioController } from '../../../src/drivers/types.js';
import { createLogger, silentLogger } from '../../../src/util/logger.js';
import { createFakeLibgpiod } from '../../../mocks/gpio/fake-libgpiod.js';
import type { FakeLibgpiod, FakeLibgpiodOptions } from '../../../mocks/gpio/fake-libgpiod.js';

const fakes: FakeLibgpiod[] = [];
const controllers: GpioController[] = [];
afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.close().catch(() => {})));
  await Promise.all(fakes.splice(0).map((f) => f.cleanup()));
});

let lines: string[] = [];
const logs = (): string[] => lines;

async function setup(options: FakeLibgpiodOptions, startupGraceMs = 40, restartDelaysMs?: number[]): Promise<{ fake: FakeLibgpiod; gpio: ChardevGpioController }> {
  const fake = await createFakeLibgpiod(options);
  fakes.push(fake);
  lines = [];
  const logger = createLogger({ level: 'info' }, { write: (line: string) => void lines.push((JSON.parse(line) as { msg: string }).msg) });
  const gpio = await ChardevGpioController.create({ logger, tools: fake.tools, devRoot: fake.devRoot, startupGraceMs, restartDelaysMs });
  controllers.push(gpio);
  return { fake, gpio };
}

// Generous: the fake tools are shell scripts, and a loaded machine can take seconds to start one.
const settled = (check: () => unknown): Promise<unknown> => vi.waitFor(check, { timeout: 5000, interval: 5 });

const flavours: [string, FakeLibgpiodOptions][] = [
  ['v1', { major: 1 }],
  ['v2', { major: 2 }],
  ['v2 interactive', { major: 2, interactive: true }],
];

describe.each(flavours)('ChardevGpioController with libgpiod %s tools', (_name, options) => {
  it('detects the version and the Pi chip', async () => {
    const { gpio } = await setup(options);
    expect(gpio.backend).toBe('chardev');
    expect(gpio.flavour).toMatchObject({ major: options.major, interactiveSet: options.interactive ?? false });
    expect(gpio.chip).toMatchObject({ name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 });
  });

  it('holds an output with gpioset and changes its level', async () => {
    const { fake, gpio } = await setup(options);
    const relay = await gpio.openOutput(27, { initial: 1, activeLow: true });
    // Without interactive mode nothing acknowledges a level, and a loaded machine can delay the fake script's state
    // files past the start-up grace period, hence waitFor.
    await settled(() => expect(fake.held(27)).toBe(true));
    await settled(async () => expect(await fake.level(27)).toBe(0));
    await relay.write(0);
    await settled(async () => expect(await fake.level(27)).toBe(1));
    expect(await relay.read()).toBe(0);
    await relay.write(1);
    await settled(async () => expect(await fake.level(27)).toBe(0));
    await relay.close();
    await settled(() => expect(fake.held(27)).toBe(false));
    const sets = (await fake.calls()).filter((c) => c.startsWith('gpioset') && !/--(version|help)/.test(c));
    if (options.major === 1) expect(sets).toEqual(['gpioset --mode=signal /dev/gpiochip0 27=0', 'gpioset --mode=signal /dev/gpiochip0 27=1', 'gpioset --mode=signal /dev/gpiochip0 27=0']);
    else if (options.interactive) expect(sets).toEqual(['gpioset --banner -C pi-edge-gateway -c /dev/gpiochip0 -i 27=0']);
    else expect(sets).toEqual(['gpioset --banner -C pi-edge-gateway -c /dev/gpiochip0 27=0', 'gpioset --banner -C pi-edge-gateway -c /dev/gpiochip0 27=1', 'gpioset --banner -C pi-edge-gateway -c /dev/gpiochip0 27=0']);
  });

  it('streams debounced edges of an input from gpiomon, active-low applied', async () => {
    const { fake, gpio } = await setup(options);
    await fake.setLevel(17, 1);
    // The fake gpiomon picks events up from a file: on a loaded machine three edges written back to back can arrive
    // tens of milliseconds apart, so the debounce window is wide enough to still merge them.
    const button = await gpio.openInput(17, { edge: 'both', debounceMs: 250, activeLow: true, pull: 'up' });
    expect(await button.read()).toBe(0);
    await settled(() => expect(fake.held(17)).toBe(true));
    const seen: BitValue[] = [];
    button.watch((v) => seen.push(v));
    await fake.edge(17, 0);
    await fake.edge(17, 1);
    await fake.edge(17, 0);
    await vi.waitFor(() => expect(seen).toEqual([1]), { timeout: 5000, interval: 5 });
    expect(await button.read()).toBe(1);
    const calls = await fake.calls();
    expect(calls.find((c) => c.startsWith('gpiomon'))).toBe(
      options.major === 1
        ? 'gpiomon -b -F %e %o -B pull-up /dev/gpiochip0 17'
        : 'gpiomon --banner -C pi-edge-gateway -c /dev/gpiochip0 -e both -F %E %o -b pull-up -p 250ms 17',
    );
    await button.close();
    await settled(() => expect(fake.held(17)).toBe(false));
  });

  it('reads an input without edges with gpioget each time', async () => {
    const { fake, gpio } = await setup(options);
    const line = await gpio.openInput(5, { edge: 'none' });
    expect(await line.read()).toBe(0);
    await fake.setLevel(5, 1);
    expect(await line.read()).toBe(1);
    expect(fake.held(5)).toBe(false);
  });

  it('reports a line held elsewhere as DeviceBusyError', async () => {
    // The refusal is the tool exiting within the grace period: on a loaded machine the fake tool (a shell script)
    // can take longer than the other tests' 40 ms to start and say so.
    const { fake, gpio } = await setup(options, 3000);
    await fake.setBusy(4, true);
    await expect(gpio.openInput(4)).rejects.toBeInstanceOf(DeviceBusyError);
    await expect(gpio.openOutput(4)).rejects.toBeInstanceOf(DeviceBusyError);
    await fake.setBusy(4, false);
    await gpio.openOutput(4);
  });
});

describe.each(flavours)('ChardevGpioController processes with libgpiod %s tools', (_name, options) => {
  it('runs one gpiomon for all watched inputs of the chip, and a named consumer with v2', async () => {
    const { fake, gpio } = await setup(options);
    const seen: string[] = [];
    const buttons = [5, 6, 13, 19];
    for (const pin of buttons) {
      const line = await gpio.openInput(pin, { edge: 'both', pull: 'up', debounceMs: 20 });
      line.watch((v) => seen.push(`${pin}=${v}`));
    }
    const monitors = (await fake.calls()).filter((c) => c.startsWith('gpiomon'));
    expect(monitors.at(-1)).toMatch(/ 5 6 13 19$/);
    await settled(async () => expect(await fake.processes()).toBe(1));
    expect(await fake.consumer(13)).toBe(options.major === 2 ? 'pi-edge-gateway' : 'gpiomon');
    await fake.edge(13, 1);
    await fake.edge(5, 1);
    await settled(() => expect(seen.sort()).toEqual(['13=1', '5=1']));
  });

  it(`outputs: ${options.interactive ? 'one interactive gpioset for all outputs of the chip' : 'one gpioset per output (changing a level means a new process)'}`, async () => {
    const { fake, gpio } = await setup(options);
    const relays = [];
    for (const pin of [20, 21, 26]) relays.push(await gpio.openOutput(pin, { initial: 0 }));
    await relays[1]!.write(1);
    await settled(async () => expect(await fake.level(21)).toBe(1));
    expect(await fake.level(20)).toBe(0);
    await settled(async () => expect(await fake.processes()).toBe(options.interactive ? 1 : 3));
    expect(gpio.processCount).toBe(options.interactive ? 1 : 3);
  });

  it('restarts a gpiomon that dies, logs it, and fails reads only meanwhile', async () => {
    const { fake, gpio } = await setup(options, 40, [300]);
    const line = await gpio.openInput(17, { edge: 'both' });
    const seen: BitValue[] = [];
    line.watch((v) => seen.push(v));
    await settled(() => expect(fake.held(17)).toBe(true));
    await fake.crash(17);
    await vi.waitFor(async () => expect(line.read()).rejects.toThrow(/killed by SIGKILL|gpiomon/), { timeout: 5000, interval: 5 });
    // While it was down the button was pressed: the restart reads the level first, so the edge is not lost.
    await fake.setLevel(17, 1);
    await vi.waitFor(async () => expect(await line.read()).toBe(1), { timeout: 5000, interval: 20 });
    expect(seen).toEqual([1]);
    await fake.edge(17, 0);
    await settled(() => expect(seen).toEqual([1, 0]));
    expect(logs().some((l) => /restarting it in 300 ms/.test(l))).toBe(true);
    await settled(() => expect(logs().some((l) => /restarted, its lines are available again/.test(l))).toBe(true));
  });

  it('restarts a gpioset that dies, keeping the level', async () => {
    const { fake, gpio } = await setup(options, 40, [300]);
    const relay = await gpio.openOutput(27, { initial: 1 });
    await settled(() => expect(fake.held(27)).toBe(true));
    await fake.crash(27);
    await vi.waitFor(async () => expect(relay.read()).rejects.toThrow(/gpioset is not running/), { timeout: 5000, interval: 5 });
    await vi.waitFor(async () => expect(await relay.read()).toBe(1), { timeout: 5000, interval: 20 });
    // v1 counts as started after the grace period: on a loaded machine the fake script's state files can lag it.
    await settled(() => expect(fake.held(27)).toBe(true));
    await settled(async () => expect(await fake.level(27)).toBe(1));
  });

  it('reports each line unavailable when its tool dies and available once it is back', async () => {
    const { fake, gpio } = await setup(options, 40, [300]);
    const button = await gpio.openInput(17, { edge: 'both' });
    const relay = await gpio.openOutput(27, { initial: 1 });
    const seen: string[] = [];
    button.onStatus!((s) => seen.push(`17 ${s.available ? 'up' : `down: ${s.error.message}`}`));
    relay.onStatus!((s) => seen.push(`27 ${s.available ? 'up' : 'down'}`));
    await settled(() => expect(fake.held(17) && fake.held(27)).toBe(true));

    await fake.crash(17);
    await settled(() => expect(seen).toEqual([expect.stringMatching(/^17 down: .*(SIGKILL|gpiomon)/), '17 up']));
    await fake.crash(27);
    await settled(() => expect(seen.slice(2)).toEqual(['27 down', '27 up']));
    // The restarted gpioset requested the line at the level it had.
    await settled(async () => expect(await fake.level(27)).toBe(1));
    expect(await relay.read()).toBe(1);
  });
});

describe('ChardevGpioController', () => {
  it('a line whose gpiomon died is available again when another input restarts it first', async () => {
    // A restart due in a minute: the second input's start is what brings the first one's line back.
    const { fake, gpio } = await setup({ major: 2 }, 40, [60_000]);
    const first = await gpio.openInput(17, { edge: 'both' });
    const seen: boolean[] = [];
    first.onStatus!((s) => seen.push(s.available));
    await settled(() => expect(fake.held(17)).toBe(true));
    await fake.crash(17);
    await settled(() => expect(seen).toEqual([false]));
    await gpio.openInput(18, { edge: 'both' });
    expect(seen).toEqual([false, true]);
    expect(fake.held(17)).toBe(true);
    await fake.setLevel(17, 1);
    await fake.edge(17, 1);
    await settled(async () => expect(await first.read()).toBe(1));
  });

  it('keeps the level of a line already driven as an output with v2 (gpioget --as-is)', async () => {
    const { fake, gpio } = await setup({ major: 2 });
    await fake.setOutput(22, 1);
    const line = await gpio.openOutput(22, { initial: 0 });
    expect(await line.read()).toBe(1);
    await settled(async () => expect(await fake.level(22)).toBe(1));
    expect(await fake.calls()).toContain('gpioget -a -C pi-edge-gateway -c /dev/gpiochip0 22');
  });

  it('with v1 sets the initial level (reading would reconfigure the line)', async () => {
    const { fake, gpio } = await setup({ major: 1 });
    await fake.setOutput(22, 1);
    await gpio.openOutput(22, { initial: 0 });
    await settled(async () => expect(await fake.level(22)).toBe(0));
    expect((await fake.calls()).some((c) => c.startsWith('gpioget'))).toBe(false);
  });

  it('is unavailable when the tools are not installed', async () => {
    const error = await ChardevGpioController.create({ logger: silentLogger(), tools: { gpioset: '/nonexistent/gpioset' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toContain('apt install gpiod');
  });

  it('refuses a system without a Pi pin controller, or without its device node', async () => {
    const fake = await createFakeLibgpiod({ major: 2, chips: [{ name: 'gpiochip0', label: 'raspberrypi-exp-gpio', lines: 8 }] });
    fakes.push(fake);
    await expect(ChardevGpioController.create({ logger: silentLogger(), tools: fake.tools, devRoot: fake.devRoot })).rejects.toBeInstanceOf(DeviceNotPresentError);
    const other = await createFakeLibgpiod({ major: 2 });
    fakes.push(other);
    await expect(ChardevGpioController.create({ logger: silentLogger(), tools: other.tools, devRoot: '/nonexistent' })).rejects.toThrow(/gpiochip0 does not exist/);
  });
});
