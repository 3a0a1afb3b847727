import { chmod, mkdir, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpiodToolPaths } from '../../src/drivers/gpio/chardev/chardev-backend.js';
import type { BitValue } from '../../src/drivers/types.js';

export interface FakeLibgpiodOptions {
  major: 1 | 2;
  /** v2 only: gpioset built with --interactive. */
  interactive?: boolean;
  /** gpiodetect's chips (default: a Pi 4 on Bookworm). */
  chips?: readonly { name: string; label: string; lines: number }[];
}

export interface FakeLibgpiod {
  /** Paths of the fake tools, for ChardevGpioOptions.tools. */
  readonly tools: GpiodToolPaths;
  /** A directory with the chips' device nodes (plain files), for ChardevGpioOptions.devRoot. */
  readonly devRoot: string;
  /** Electrical level of a line, as the fake chip holds it. */
  level(offset: number): Promise<BitValue>;
  /** Set an input's level for gpioget (without an event). */
  setLevel(offset: number, level: BitValue): Promise<void>;
  /** Mark a line as already an output (as a previous run of gpioset left it). */
  setOutput(offset: number, level: BitValue): Promise<void>;
  /** Make requests of a line fail with EBUSY, as when a kernel driver owns it. */
  setBusy(offset: number, busy: boolean): Promise<void>;
  /** An edge as the kernel reports it to a running gpiomon (also updates the level). */
  edge(offset: number, level: BitValue): Promise<void>;
  /** Whether a gpiomon or gpioset currently holds the line. */
  held(offset: number): boolean;
  /** Every invocation, as `tool arg arg...`. */
  calls(): Promise<string[]>;
  cleanup(): Promise<void>;
}

/** gpiodetect on a Pi 4. */
export const PI4_CHIPS = [
  { name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 },
  { name: 'gpiochip1', label: 'raspberrypi-exp-gpio', lines: 8 },
] as const;

/** gpiodetect on a Pi 5 with a 6.6+ kernel: the RP1 is gpiochip0, the SoC's own blocks follow. */
export const PI5_CHIPS = [
  { name: 'gpiochip0', label: 'pinctrl-rp1', lines: 54 },
  { name: 'gpiochip10', label: 'gpio-brcmstb@107d508500', lines: 32 },
  { name: 'gpiochip11', label: 'gpio-brcmstb@107d508520', lines: 4 },
  { name: 'gpiochip12', label: 'gpio-brcmstb@107d517c00', lines: 17 },
  { name: 'gpiochip13', label: 'gpio-brcmstb@107d517c20', lines: 6 },
] as const;

/**
 * Shell scripts that behave like libgpiod's v1 or v2 tools closely enough for the chardev backend: same arguments,
 * same output formats, same exit codes and error texts, with the chip's state kept in files of a temp directory.
 */
export async function createFakeLibgpiod(options: FakeLibgpiodOptions): Promise<FakeLibgpiod> {
  const root = await mkdtemp(join(tmpdir(), 'fake-gpiod-'));
  const bin = join(root, 'bin');
  const state = join(root, 'state');
  const devRoot = join(root, 'dev');
  await Promise.all([mkdir(bin), mkdir(state), mkdir(devRoot)]);
  const chips = options.chips ?? PI4_CHIPS;
  for (const chip of chips) await writeFile(join(devRoot, chip.name), '');
  const v2 = options.major === 2;
  const version = v2 ? '2.1.3' : '1.6.3';

  const prelude = `#!/bin/sh
S='${state}'
echo "$(basename "$0") $*" >> "$S/calls.log"
case "$1" in --version|-v) echo "$(basename "$0") (libgpiod) v${version}"; echo "Copyright (C) 2017-2023 Bartosz Golaszewski"; exit 0;; esac
for last in "$@"; do :; done
busy() { if [ -e "$S/busy-$1" ]; then echo "$(basename "$0"): unable to request lines on chip '/dev/gpiochip0': Device or resource busy" >&2; exit 1; fi; }
lvl() { cat "$S/level-$1" 2>/dev/null || echo 0; }
hold_until_signal() { trap 'rm -f "$S/held-$1"; kill $p 2>/dev/null; exit 0' TERM INT; touch "$S/held-$1"; while :; do sleep 1 </dev/null >/dev/null 2>&1 & p=$!; wait $p; done; }
`;
  const scripts: Record<keyof GpiodToolPaths, string> = {
    gpiodetect: `${prelude}${chips.map((c) => `echo '${c.name} [${c.label}] (${c.lines} lines)'`).join('\n')}\n`,
    gpioinfo: `${prelude}echo 'gpiochip0 - 58 lines:'
i=0
while [ $i -lt 58 ]; do
  d=$(cat "$S/dir-$i" 2>/dev/null || echo input)
  ${v2 ? `printf '\\tline %3d:\\t"GPIO%d"\\t%s\\n' $i $i $d` : `printf '\\tline %3d:\\t"GPIO%d"\\tunused\\t%s\\tactive-high\\n' $i $i $d`}
  i=$((i+1))
done
`,
    gpioget: `${prelude}${v2 ? 'case " $* " in *" -a "*) ;; *) echo input > "$S/dir-$last";; esac' : 'echo input > "$S/dir-$last"'}
busy "$last"
v=$(lvl "$last")
${v2 ? `if [ "$v" = 1 ]; then echo "\\"$last\\"=active"; else echo "\\"$last\\"=inactive"; fi` : 'echo "$v"'}
`,
    gpioset: `${prelude}case "$1" in --help|-h) echo "Usage: gpioset [OPTIONS] <line=value>..."; ${options.interactive ? `echo "  -i, --interactive\tset the lines then wait for additional set commands";` : ''} exit 0;; esac
off=\${last%%=*}; val=\${last#*=}
busy "$off"
echo output > "$S/dir-$off"; echo "$val" > "$S/level-$off"
${
  v2
    ? `case " $* " in
  *" -i "*)
    trap 'rm -f "$S/held-$off"; exit 0' TERM INT
    touch "$S/held-$off"
    while printf 'gpioset> ' && IFS= read -r cmd; do
      case "$cmd" in
        "set "*) kv=\${cmd#set }; echo "\${kv#*=}" > "$S/level-\${kv%%=*}";;
        "get "*) l=\${cmd#get }; if [ "$(lvl "$l")" = 1 ]; then echo "\\"$l\\"=active"; else echo "\\"$l\\"=inactive"; fi;;
        exit) break;;
      esac
    done
    rm -f "$S/held-$off"; exit 0;;
  *) hold_until_signal "$off";;
esac`
    : `case " $* " in *" --mode=signal "*) hold_until_signal "$off";; esac`
}
`,
    gpiomon: `${prelude}busy "$last"
trap 'rm -f "$S/held-$last"; kill $t 2>/dev/null; exit 0' TERM INT
: > "$S/events-$last"
touch "$S/held-$last"
tail -n +1 -f "$S/events-$last" & t=$!
wait $t
`,
  };
  const tools = {} as GpiodToolPaths;
  for (const [name, text] of Object.entries(scripts) as [keyof GpiodToolPaths, string][]) {
    const path = join(bin, name);
    await writeFile(path, text);
    await chmod(path, 0o755);
    tools[name] = path;
  }

  const file = (name: string, offset: number): string => join(state, `${name}-${offset}`);
  return {
    tools,
    devRoot,
    async level(offset) {
      const text = await readFile(file('level', offset), 'utf8').catch(() => '0');
      return text.trim() === '1' ? 1 : 0;
    },
    async setLevel(offset, level) {
      await writeFile(file('level', offset), `${level}\n`);
    },
    async setOutput(offset, level) {
      await writeFile(file('level', offset), `${level}\n`);
      await writeFile(file('dir', offset), 'output\n');
    },
    async setBusy(offset, busy) {
      if (busy) await writeFile(file('busy', offset), '');
      else await rm(file('busy', offset), { force: true });
    },
    async edge(offset, level) {
      // gpiomon empties its event file when it starts; on a loaded machine that can be after the caller's grace period.
      for (let waited = 0; !existsSync(file('held', offset)) && waited < 2000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
      await writeFile(file('level', offset), `${level}\n`);
      const line = v2 ? `${level === 1 ? 'rising' : 'falling'} ${offset}` : `${level} ${offset}`;
      await appendFile(file('events', offset), `${line}\n`);
    },
    held: (offset) => existsSync(file('held', offset)),
    async calls() {
      const text = await readFile(join(state, 'calls.log'), 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean).map((line) => line.replaceAll(`${devRoot}/`, '/dev/'));
    },
    async cleanup() {
      await rm(root, { recursive: true, force: true });
    },
  };
}
