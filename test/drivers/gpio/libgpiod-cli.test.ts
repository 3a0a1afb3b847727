import { describe, expect, it } from 'vitest';
import {
  getArgs,
  holdArgs,
  monitorArgs,
  parseGetOutput,
  parseGpiodetect,
  parseInfoDirection,
  parseLibgpiodVersion,
  parseMonitorLine,
} from '../../../src/drivers/gpio/chardev/libgpiod-cli.js';
import type { LibgpiodFlavour } from '../../../src/drivers/gpio/chardev/libgpiod-cli.js';

const v1: LibgpiodFlavour = { major: 1, version: '1.6.3', interactiveSet: false };
const v2: LibgpiodFlavour = { major: 2, version: '2.1.3', interactiveSet: false };
const v2i: LibgpiodFlavour = { ...v2, interactiveSet: true };

describe('libgpiod CLI', () => {
  it('parses --version of v1 (Bookworm) and v2 (Trixie)', () => {
    // Verbatim from Debian bookworm's gpiod 1.6.3.
    expect(parseLibgpiodVersion('gpioset (libgpiod) v1.6.3\nCopyright (C) 2017-2018 Bartosz Golaszewski\n')).toEqual({ major: 1, version: '1.6.3' });
    expect(parseLibgpiodVersion('gpioset (libgpiod) v2.2.1\nCopyright (C) 2017-2023 Bartosz Golaszewski')).toEqual({ major: 2, version: '2.2.1' });
    expect(parseLibgpiodVersion('gpioset (libgpiod) v3.0')).toBeUndefined();
    expect(parseLibgpiodVersion('command not found')).toBeUndefined();
  });

  it('parses gpiodetect', () => {
    const text = 'gpiochip0 [pinctrl-rp1] (54 lines)\ngpiochip10 [gpio-brcmstb@107d508500] (32 lines)\n';
    expect(parseGpiodetect(text)).toEqual([
      { name: 'gpiochip0', label: 'pinctrl-rp1', lines: 54 },
      { name: 'gpiochip10', label: 'gpio-brcmstb@107d508500', lines: 32 },
    ]);
  });

  it('builds v1 and v2 command lines', () => {
    expect(getArgs(v1, '/dev/gpiochip0', 17, 'up')).toEqual(['-B', 'pull-up', '/dev/gpiochip0', '17']);
    expect(getArgs(v2, '/dev/gpiochip0', 17, 'none')).toEqual(['-C', 'pi-edge-gateway', '-c', '/dev/gpiochip0', '-b', 'disabled', '17']);
    expect(getArgs(v1, '/dev/gpiochip0', 17, 'none')).toEqual(['-B', 'disable', '/dev/gpiochip0', '17']);
    expect(monitorArgs(v1, '/dev/gpiochip0', [4, 17], 'up', 30)).toEqual(['-b', '-F', '%e %o', '-B', 'pull-up', '/dev/gpiochip0', '4', '17']);
    expect(monitorArgs(v2, '/dev/gpiochip4', [4], 'down')).toEqual(['--banner', '-C', 'pi-edge-gateway', '-c', '/dev/gpiochip4', '-e', 'both', '-F', '%E %o', '-b', 'pull-down', '4']);
    expect(monitorArgs(v2, '/dev/gpiochip0', [4, 17], undefined, 30)).toEqual(['--banner', '-C', 'pi-edge-gateway', '-c', '/dev/gpiochip0', '-e', 'both', '-F', '%E %o', '-p', '30ms', '4', '17']);
    expect(holdArgs(v1, '/dev/gpiochip0', new Map([[27, 1]]))).toEqual(['--mode=signal', '/dev/gpiochip0', '27=1']);
    expect(holdArgs(v2, '/dev/gpiochip0', new Map([[27, 0]]))).toEqual(['--banner', '-C', 'pi-edge-gateway', '-c', '/dev/gpiochip0', '27=0']);
    expect(holdArgs(v2i, '/dev/gpiochip0', new Map([[17, 1], [27, 0]]))).toEqual(['--banner', '-C', 'pi-edge-gateway', '-c', '/dev/gpiochip0', '-i', '17=1', '27=0']);
  });

  it('parses gpioget and gpiomon output of both versions', () => {
    expect(parseGetOutput('1\n')).toBe(1);
    expect(parseGetOutput('0')).toBe(0);
    expect(parseGetOutput('"17"=active\n')).toBe(1);
    expect(parseGetOutput('"17"=inactive')).toBe(0);
    expect(parseGetOutput('17=inactive')).toBe(0);
    expect(parseGetOutput('error')).toBeUndefined();
    expect(parseMonitorLine('1 17')).toEqual({ level: 1, offset: 17 });
    expect(parseMonitorLine('0 17')).toEqual({ level: 0, offset: 17 });
    expect(parseMonitorLine('falling 4')).toEqual({ level: 0, offset: 4 });
    expect(parseMonitorLine('rising 4')).toEqual({ level: 1, offset: 4 });
    expect(parseMonitorLine('event:  RISING EDGE offset: 17')).toBeUndefined();
  });

  it('reads a line direction from gpioinfo, ignoring line names', () => {
    const v1Info = 'gpiochip0 - 58 lines:\n\tline  16:   "GPIO16"       unused   input  active-high \n\tline  17:   "GPIO17"   "gpioset"  output  active-high [used]\n';
    const v2Info = 'gpiochip0 - 54 lines:\n\tline 17:\t"GPIO17"\toutput consumer="gpioset"\n\tline 18:\t"output"\tinput\n';
    expect(parseInfoDirection(v1Info, 17)).toBe('output');
    expect(parseInfoDirection(v1Info, 16)).toBe('input');
    expect(parseInfoDirection(v2Info, 17)).toBe('output');
    expect(parseInfoDirection(v2Info, 18)).toBe('input');
    expect(parseInfoDirection(v2Info, 30)).toBeUndefined();
  });
});
