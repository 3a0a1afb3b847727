import type { BitValue, Pull } from '../../types.js';

/**
 * Command lines and output formats of Debian's libgpiod tools, which changed between v1 (Bookworm, 1.6) and v2
 * (Trixie, 2.x): v1 takes the chip as a positional argument and `-B` for bias, v2 takes `-c <chip>` and `-b`;
 * v1 gpioset exits at once unless told `--mode=signal`, v2 holds the line until killed (and, when built with
 * interactive support, accepts `set`/`get` commands on stdin); gpiomon needs `-b` in v1 to flush per event.
 */
export interface LibgpiodFlavour {
  major: 1 | 2;
  version: string;
  /** v2 gpioset built with `--interactive` (changes levels without releasing the line). */
  interactiveSet: boolean;
}

export interface DetectedChip {
  name: string;
  label: string;
  lines: number;
}

/** `gpioset (libgpiod) v1.6.3` → 1.6.3. */
export function parseLibgpiodVersion(text: string): { major: 1 | 2; version: string } | undefined {
  const match = /libgpiod\)?\s+v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text) ?? /\bv(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!match) return undefined;
  const major = Number(match[1]);
  if (major !== 1 && major !== 2) return undefined;
  return { major, version: match.slice(1).filter((part) => part !== undefined).join('.') };
}

/** `gpiochip0 [pinctrl-bcm2711] (58 lines)`, the same in v1 and v2. */
export function parseGpiodetect(text: string): DetectedChip[] {
  const chips: DetectedChip[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(gpiochip\d+)\s+\[([^\]]*)\]\s+\((\d+)\s+lines?\)/.exec(line);
    if (match) chips.push({ name: match[1]!, label: match[2]!, lines: Number(match[3]) });
  }
  return chips;
}

function biasArgs(flavour: LibgpiodFlavour, pull: Pull | undefined): string[] {
  if (pull === undefined) return [];
  const v1 = { up: 'pull-up', down: 'pull-down', none: 'disable' } as const;
  const v2 = { up: 'pull-up', down: 'pull-down', none: 'disabled' } as const;
  return flavour.major === 1 ? ['-B', v1[pull]] : ['-b', v2[pull]];
}

/**
 * The consumer name v2 tools give the kernel for their lines (`-C`), so that `gpioinfo` shows who holds a line.
 * v1's tools have no such option and always name themselves.
 */
export const GPIO_CONSUMER = 'pi-edge-gateway';

/** v2 only: print a line once the line request succeeded, so readiness is known rather than guessed. */
const BANNER = '--banner';

/** What v2's `--banner` prints: gpiomon "Monitoring line(s) ...", gpioset "Setting line(s) ..." (tools/gpio*.c). */
export const MONITOR_BANNER = /^Monitoring lines? /;
export const SET_BANNER = /^Setting lines? /;

/** Read one line as an input (both versions request it as input). */
export function getArgs(flavour: LibgpiodFlavour, chip: string, offset: number, pull?: Pull): string[] {
  return flavour.major === 1 ? [...biasArgs(flavour, pull), chip, String(offset)] : ['-C', GPIO_CONSUMER, '-c', chip, ...biasArgs(flavour, pull), String(offset)];
}

/** v2 only: read an output's level without turning it into an input. */
export function getAsIsArgs(chip: string, offset: number): string[] {
  return ['-a', '-C', GPIO_CONSUMER, '-c', chip, String(offset)];
}

/**
 * One gpiomon for several lines of a chip that share bias and debounce (the tools apply one setting to all lines
 * of a request). Both edges, one line per event: v1 `<0|1> <offset>`, v2 `<rising|falling> <offset>`. v2 also gets
 * the banner, the consumer name and, when asked, the kernel's debounce (`-p`, which v1 lacks).
 */
export function monitorArgs(flavour: LibgpiodFlavour, chip: string, offsets: readonly number[], pull?: Pull, debounceMs = 0): string[] {
  const lines = offsets.map(String);
  if (flavour.major === 1) return ['-b', '-F', '%e %o', ...biasArgs(flavour, pull), chip, ...lines];
  return [BANNER, '-C', GPIO_CONSUMER, '-c', chip, '-e', 'both', '-F', '%E %o', ...biasArgs(flavour, pull), ...(debounceMs > 0 ? ['-p', `${debounceMs}ms`] : []), ...lines];
}

/**
 * A gpioset that keeps driving the lines until it is killed. Interactive v2 (one per chip) takes further levels on
 * stdin; otherwise a level change means a new process, so v1 and non-interactive v2 run one per line: a shared one
 * would release every line of the chip to change one.
 */
export function holdArgs(flavour: LibgpiodFlavour, chip: string, levels: ReadonlyMap<number, BitValue>): string[] {
  const values = [...levels].map(([offset, raw]) => `${offset}=${raw}`);
  if (flavour.major === 1) return ['--mode=signal', chip, ...values];
  return [BANNER, '-C', GPIO_CONSUMER, '-c', chip, ...(flavour.interactiveSet ? ['-i'] : []), ...values];
}

export function gpioinfoArgs(flavour: LibgpiodFlavour, chip: string): string[] {
  return flavour.major === 1 ? [chip] : ['-c', chip];
}

/** Interactive gpioset's answer to `get <offset>`, after its prompt: `gpioset> "27"=active`. */
export function parseSetterAnswer(text: string): { offset: number; raw: BitValue } | undefined {
  const match = /"?(\d+)"?=(active|inactive)\b/.exec(text);
  return match ? { offset: Number(match[1]), raw: match[2] === 'active' ? 1 : 0 } : undefined;
}

/** gpioget output: v1 `1`, v2 `"17"=active` (or `17=active`, or `1` with --numeric). */
export function parseGetOutput(text: string): BitValue | undefined {
  const trimmed = text.trim();
  const named = /=\s*(active|inactive)\b/.exec(trimmed);
  if (named) return named[1] === 'active' ? 1 : 0;
  if (/^[01]$/.test(trimmed)) return trimmed === '1' ? 1 : 0;
  return undefined;
}

/** A gpiomon event line → the level after the edge (v1 `%e`: 1 rising, 0 falling; v2 `%E`: rising/falling). */
export function parseMonitorLine(line: string): { level: BitValue; offset: number } | undefined {
  const match = /^\s*(rising|falling|[012])\s+(\d+)\s*$/.exec(line);
  if (!match) return undefined;
  return { level: match[1] === 'rising' || match[1] === '1' ? 1 : 0, offset: Number(match[2]) };
}

/** The `input`/`output` column of one line in gpioinfo's listing (same words in v1 and v2). */
export function parseInfoDirection(text: string, offset: number): 'input' | 'output' | undefined {
  for (const line of text.split('\n')) {
    const match = /^\s*line\s+(\d+):(.*)$/.exec(line);
    if (match && Number(match[1]) === offset) {
      const direction = /\b(input|output)\b/.exec(match[2]!.replace(/"[^"]*"/g, ''));
      return direction?.[1] as 'input' | 'output' | undefined;
    }
  }
  return undefined;
}
