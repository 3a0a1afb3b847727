import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BackendUnavailableError, DeviceBusyError, HardwareIoError, HardwareTimeoutError } from '../../../src/drivers/errors.js';
import { ChardevGpioController } from '../../../src/drivers/gpio/chardev/chardev-backend.js';
import { createDefaultSpawn, runTool, toolError } from '../../../src/drivers/gpio/chardev/tool-process.js';
import type { SpawnFn } from '../../../src/drivers/gpio/chardev/tool-process.js';
import { silentLogger } from '../../../src/util/logger.js';
import { createFakeSpawn } from '../../../mocks/gpio/fake-spawn.js';
import type { FakeChild } from '../../../mocks/gpio/fake-spawn.js';

let devRoot: string;
beforeEach(async () => {
  devRoot = await mkdtemp(join(tmpdir(), 'gpio-dev-'));
  await writeFile(join(devRoot, 'gpiochip0'), '');
});
afterEach(async () => {
  await rm(devRoot, { recursive: true, force: true });
});

/** libgpiod v2 without interactive gpioset; `longLived` plays gpiomon/gpioset after they start. */
function v2Tools(longLived: (child: FakeChild) => void): ReturnType<typeof createFakeSpawn> {
  return createFakeSpawn((child) => {
    const tool = child.command;
    if (child.args[0] === '--version') {
      child.print(`${tool} (libgpiod) v2.2.1`);
      child.exit(0);
    } else if (child.args[0] === '--help') {
      child.print('Usage: gpioset [OPTIONS] <line=value>...');
      child.exit(0);
    } else if (tool === 'gpiodetect') {
      child.print('gpiochip0 [pinctrl-rp1] (54 lines)');
      child.exit(0);
    } else if (tool === 'gpioinfo') {
      child.print('gpiochip0 - 54 lines:');
      child.exit(0);
    } else if (tool === 'gpioget') {
      child.print(`"${child.args.at(-1)}"=inactive`);
      child.exit(0);
    } else {
      // What v2's --banner prints once the lines are requested (tools/gpiomon.c, tools/gpioset.c).
      const lines = child.args.filter((arg) => /^\d+(=\d)?$/.test(arg)).map((arg) => `'${arg.split('=')[0]}'`);
      if (child.args.includes('--banner')) child.print(`${tool === 'gpiomon' ? 'Monitoring' : 'Setting'} line ${lines.join(', ')}...`);
      longLived(child);
    }
  });
}

async function controller(spawn: SpawnFn): Promise<ChardevGpioController> {
  return ChardevGpioController.create({ logger: silentLogger(), spawn, devRoot, startupGraceMs: 10, commandTimeoutMs: 200, restartDelaysMs: [60_000] });
}

describe('chardev process handling', () => {
  it('makes reads fail with the tool error once gpiomon dies', async () => {
    let monitor: FakeChild | undefined;
    const { spawn } = v2Tools((child) => {
      monitor = child;
    });
    const gpio = await controller(spawn);
    expect(gpio.chip.path).toBe(join(devRoot, 'gpiochip0'));
    const line = await gpio.openInput(17);
    monitor!.print('rising 17');
    await vi.waitFor(async () => expect(await line.read()).toBe(1));
    monitor!.printError('gpiomon: error reading line events: Input/output error');
    monitor!.exit(1);
    await vi.waitFor(async () => expect(line.read()).rejects.toThrow(/Input\/output error/));
    await expect(line.read()).rejects.toBeInstanceOf(HardwareIoError);
    await gpio.close();
  });

  it('a gpioset that died fails reads and writes until its restart', async () => {
    const { spawn, children } = v2Tools(() => {});
    const gpio = await controller(spawn);
    const line = await gpio.openOutput(27, { initial: 1 });
    const first = children.find((c) => c.command === 'gpioset' && c.args.includes('27=1'))!;
    first.exit(null, 'SIGKILL');
    await vi.waitFor(() => expect(line.read()).rejects.toThrow(/gpioset is not running/));
    await expect(line.write(0)).rejects.toThrow(/gpioset is not running/);
    await gpio.close();
    expect(children.every((c) => c.exited)).toBe(true);
  });

  it('serialises concurrent writes and skips writes of the current level', async () => {
    const { spawn, children } = v2Tools(() => {});
    const gpio = await controller(spawn);
    const line = await gpio.openOutput(5);
    await Promise.all([line.write(1), line.write(0), line.write(1)]);
    await line.write(1);
    const sets = children.filter((c) => c.command === 'gpioset' && !c.args.includes('--version') && !c.args.includes('--help')).map((c) => c.args.at(-1));
    expect(sets).toEqual(['5=0', '5=1', '5=0', '5=1']);
    expect(children.filter((c) => c.command === 'gpioset' && !c.exited)).toHaveLength(1);
    await gpio.close();
  });

  it('talks to an interactive v2 gpioset over stdin', async () => {
    let holder: FakeChild | undefined;
    let level = 0;
    const { spawn, children } = createFakeSpawn((child) => {
      if (child.args[0] === '--version') {
        child.print('gpioset (libgpiod) v2.2.1');
        child.exit(0);
      } else if (child.args[0] === '--help') {
        child.print('  -i, --interactive\tset the lines then wait for additional set commands');
        child.exit(0);
      } else if (child.command === 'gpiodetect') {
        child.print('gpiochip0 [pinctrl-bcm2711] (58 lines)');
        child.exit(0);
      } else if (child.command === 'gpioinfo') {
        child.exit(0);
      } else if (child.command === 'gpioset') {
        holder = child;
        child.print(`Setting line '27'...`);
        level = Number(child.args.at(-1)!.split('=')[1]);
        child.onInput((command) => {
          const [verb, argument] = command.split(' ');
          if (verb === 'set') level = Number(argument!.split('=')[1]);
          // The real tool prints its prompt without a newline before each answer.
          if (verb === 'get') child.print(`gpioset> "${argument}"=${level ? 'active' : 'inactive'}`);
        });
      }
    });
    const gpio = await controller(spawn);
    const line = await gpio.openOutput(27, { initial: 1 });
    await line.write(0);
    await line.write(1);
    expect(holder!.input()).toBe('get 27\nset 27=0\nget 27\nset 27=1\nget 27\n');
    expect(children.filter((c) => c.command === 'gpioset' && c.args.includes('-i'))).toHaveLength(1);
    await gpio.close();
    expect(holder!.signals).toEqual(['SIGTERM']);
  });

  it('times out a tool that hangs and kills it', async () => {
    const { spawn, children } = createFakeSpawn(() => {});
    await expect(runTool(spawn, 'gpioget', ['17'], 'gpio17', 20)).rejects.toBeInstanceOf(HardwareTimeoutError);
    expect(children[0]!.signals).toEqual(['SIGTERM']);
  });

  it('maps tool messages to typed errors', () => {
    expect(toolError('gpio4', 'gpioset', "gpioset: unable to request lines on chip '/dev/gpiochip0': Device or resource busy")).toBeInstanceOf(DeviceBusyError);
    expect(toolError('gpio4', 'gpioget', 'gpioget: unable to open chip: Permission denied')).toMatchObject({ code: 'EACCES', message: expect.stringMatching(/gpio group/) });
    expect(toolError('gpio4', 'gpioget', 'something else')).toBeInstanceOf(HardwareIoError);
  });

  it('wraps tools in setpriv --pdeathsig when available, so they die with the gateway', () => {
    const calls: [string, readonly string[]][] = [];
    const base: SpawnFn = (command, args) => {
      calls.push([command, args]);
      return undefined as never;
    };
    createDefaultSpawn(() => '/usr/bin/setpriv', base)('gpioset', ['-c', '/dev/gpiochip0', '17=1']);
    createDefaultSpawn(() => undefined, base)('gpioset', ['17=1']);
    expect(calls).toEqual([
      ['/usr/bin/setpriv', ['--pdeathsig', 'TERM', '--', 'gpioset', '-c', '/dev/gpiochip0', '17=1']],
      ['gpioset', ['17=1']],
    ]);
  });

  it('reports tools that cannot be executed as BackendUnavailableError', async () => {
    const { spawn } = createFakeSpawn((child) => {
      child.printError(`setpriv: failed to execute ${child.command}: No such file or directory`);
      child.exit(127);
    });
    await expect(controller(spawn)).rejects.toBeInstanceOf(BackendUnavailableError);
  });
});
