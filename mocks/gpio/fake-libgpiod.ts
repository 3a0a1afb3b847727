import { appendFile, chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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
  /**
   * A change of the line's level, reported to the gpiomon holding the line as the kernel would: at once, or with
   * gpiomon's `-p` after the kernel's debounce period.
   */
  edge(offset: number, level: BitValue): Promise<void>;
  /** Whether a gpiomon or gpioset currently holds the line. */
  held(offset: number): boolean;
  /** The consumer name the holder of the line gave (what gpioinfo shows), if held. */
  consumer(offset: number): Promise<string | undefined>;
  /** Kill the tool holding the line with SIGKILL (the kernel releases its lines). */
  crash(offset: number): Promise<void>;
  /** Long-lived fake tools (gpiomon, gpioset) still running. */
  processes(): Promise<number>;
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

/** A v2 tool period (`30ms`, `500us`, `1s`; a bare number is milliseconds) in ms; 0 when absent. */
function parsePeriodMs(text: string | undefined): number {
  const match = /^(\d+)(us|ms|s)?$/.exec(text ?? '');
  if (!match) return 0;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

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

  // Options that take a value, per tool generation; everything else that is not a flag is a line (or v1's chip).
  const valued = v2 ? '-c|-C|-b|-d|-e|-E|-F|-p|-t|-n|--idle-timeout' : '-B|-D|-F|-n|-m|-s|-u';
  const prelude = `#!/bin/sh
S='${state}'
echo "$(basename "$0") $*" >> "$S/calls.log"
case "$1" in --version|-v) echo "$(basename "$0") (libgpiod) v${version}"; echo "Copyright (C) 2017-2023 Bartosz Golaszewski"; exit 0;; esac
for last in "$@"; do :; done
all=" $* "
# Positional arguments (v1: the chip first), the -F format, -C consumer, and whether --banner was given.
pos=''; fmt=''; banner=''; consumer=''; period=''; skip=''
for a in "$@"; do
  if [ -n "$skip" ]; then [ "$skip" = -F ] && fmt="$a"; [ "$skip" = -C ] && consumer="$a"; [ "$skip" = -p ] && period="$a"; skip=''; continue; fi
  case "$a" in ${valued}) skip="$a";; --banner) banner=1;; -*) ;; *) pos="$pos $a";; esac
done
${v2 ? '' : `set -- $pos; [ $# -gt 0 ] && shift; pos="$*"`}
offs=''; for a in $pos; do offs="$offs \${a%%=*}"; done
# A line the kernel has given to another request (or a driver) cannot be requested: EBUSY, as the tools report it.
busy() { if [ -e "$S/busy-$1" ] || [ -e "$S/held-$1" ]; then echo "$(basename "$0"): unable to request lines on chip '/dev/gpiochip0': Device or resource busy" >&2; exit 1; fi; }
lvl() { cat "$S/level-$1" 2>/dev/null || echo 0; }
quoted_list() { n=0; for o in "$@"; do n=$((n+1)); done; i=0; out=''; for o in "$@"; do i=$((i+1)); if [ $i -eq 1 ]; then out="'$o'"; elif [ $i -eq $n ]; then out="$out and '$o'"; else out="$out, '$o'"; fi; done; echo "$out"; }
release() { for o in $offs; do rm -f "$S/held-$o" "$S/owner-$o"; done; }
# The kernel releases a process's lines however it ends: the trap is set before anything can signal the tool.
hold() { for o in $offs; do busy "$o"; done; trap 'release; kill $p $t $w 2>/dev/null; rm -f "$S/fifo-$$"; exit 0' TERM INT; for o in $offs; do echo "$$" > "$S/owner-$o"; echo "\${consumer:-$(basename "$0")}" > "$S/held-$o"; done; }
hold_until_signal() { while :; do sleep 1 </dev/null >/dev/null 2>&1 & p=$!; echo "$$ $p" > "$S/pids-$$"; wait $p; done; }
`;
  // gpiomon's event line: with -F the specifiers of tools/gpiomon.c (%E rising/falling, %e 1/2 in v2 and 1/0 in v1,
  // %o offset, %c chip); without it v2's default "<seconds>.<ns>\t<edge>\t<chip> <offset>" (v1's differs, unused).
  const monitorLoop = `n=0; while read -r edge off; do
  n=$((n+1)); case "$edge" in rising) num=1;; *) num=${v2 ? 2 : 0};; esac
  if [ -z "$fmt" ]; then printf '%s.%09d\\t%s\\tgpiochip0 %s\\n' "$n" 0 "$edge" "$off"
  else printf '%s\\n' "$fmt" | sed -e "s/%E/$edge/g" -e "s/%e/$num/g" -e "s/%o/$off/g" -e "s/%c/gpiochip0/g"; fi
done`;
  const scripts: Record<keyof GpiodToolPaths, string> = {
    gpiodetect: `${prelude}${chips.map((c) => `echo '${c.name} [${c.label}] (${c.lines} lines)'`).join('\n')}\n`,
    gpioinfo: `${prelude}echo 'gpiochip0 - 58 lines:'
i=0
while [ $i -lt 58 ]; do
  d=$(cat "$S/dir-$i" 2>/dev/null || echo input)
  ${v2 ? `c=''; [ -e "$S/held-$i" ] && c=" consumer=\\"$(cat "$S/held-$i")\\""; printf '\\tline %3d:\\t"GPIO%d"\\t%s%s\\n' $i $i $d "$c"` : `printf '\\tline %3d:\\t"GPIO%d"\\tunused\\t%s\\tactive-high\\n' $i $i $d`}
  i=$((i+1))
done
`,
    gpioget: `${prelude}${v2 ? 'case "$all" in *" -a "*) ;; *) echo input > "$S/dir-$last";; esac' : 'echo input > "$S/dir-$last"'}
busy "$last"
v=$(lvl "$last")
${v2 ? `if [ "$v" = 1 ]; then echo "\\"$last\\"=active"; else echo "\\"$last\\"=inactive"; fi` : 'echo "$v"'}
`,
    gpioset: `${prelude}case "$1" in --help|-h) echo "Usage: gpioset [OPTIONS] <line=value>..."; ${options.interactive ? `echo "  -i, --interactive\tset the lines then wait for additional set commands";` : ''} exit 0;; esac
hold
for a in $pos; do echo output > "$S/dir-\${a%%=*}"; echo "\${a#*=}" > "$S/level-\${a%%=*}"; done
${
  v2
    ? `[ -n "$banner" ] && echo "Setting line$([ $(echo $offs | wc -w) -gt 1 ] && echo s) $(quoted_list $offs)..."
case "$all" in
  *" -i "*)
    echo "$$" > "$S/pids-$$"
    while printf 'gpioset> ' && IFS= read -r cmd; do
      case "$cmd" in
        "set "*) for kv in \${cmd#set }; do echo "\${kv#*=}" > "$S/level-\${kv%%=*}"; done;;
        "get "*) out=''; for l in \${cmd#get }; do if [ "$(lvl "$l")" = 1 ]; then out="$out \\"$l\\"=active"; else out="$out \\"$l\\"=inactive"; fi; done; echo "\${out# }";;
        exit) break;;
      esac
    done
    release; exit 0;;
  *) hold_until_signal;;
esac`
    : `case "$all" in *" --mode=signal "*) hold_until_signal;; esac
release`
}
`,
    gpiomon: `${prelude}hold
ev="$S/events-$$"; : > "$ev"
for o in $offs; do echo "$ev $period" > "$S/monitor-$o"; done
fifo="$S/fifo-$$"; mkfifo "$fifo"
tail -n +1 -f "$ev" > "$fifo" & t=$!
(${monitorLoop}) < "$fifo" & w=$!
# Before the banner: once the caller sees it, crash() must find every process to kill (an orphaned tail would keep
# stdout open, and the caller would never see the tool end).
echo "$$ $t $w" > "$S/pids-$$"
${v2 ? `[ -n "$banner" ] && echo "Monitoring line$([ $(echo $offs | wc -w) -gt 1 ] && echo s) $(quoted_list $offs)..."` : ''}
wait $w
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
  const debounced: Record<number, { reported: BitValue; timer?: ReturnType<typeof setTimeout> }> = {};
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
      // The event reaches the gpiomon that holds the line; on a loaded machine it may still be starting.
      for (let waited = 0; !existsSync(file('monitor', offset)) && waited < 2000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
      await writeFile(file('level', offset), `${level}\n`);
      const [events, period] = (await readFile(file('monitor', offset), 'utf8')).trim().split(' ');
      const report = (value: BitValue) => appendFile(events!, `${value === 1 ? 'rising' : 'falling'} ${offset}\n`);
      const debounceMs = parsePeriodMs(period);
      if (debounceMs === 0) return report(level);
      // gpiolib-cdev's debounce (gpiomon -p): an edge is reported once the line has been stable for the period,
      // and only if the level differs from the last one reported; a glitch that returns reports nothing.
      const line = (debounced[offset] ??= { reported: level === 1 ? 0 : 1 });
      clearTimeout(line.timer);
      line.timer = setTimeout(() => {
        if (level !== line.reported) {
          line.reported = level;
          void report(level);
        }
      }, debounceMs);
    },
    held: (offset) => existsSync(file('held', offset)),
    async consumer(offset) {
      return (await readFile(file('held', offset), 'utf8').catch(() => '')).trim() || undefined;
    },
    async crash(offset) {
      // SIGKILL, as the OOM killer or a crash would: no clean-up runs, and the kernel releases the lines.
      const owner = (await readFile(file('owner', offset), 'utf8').catch(() => '')).trim();
      if (!owner) throw new Error(`no tool holds line ${offset}`);
      const pids = (await readFile(join(state, `pids-${owner}`), 'utf8').catch(() => owner)).trim().split(/\s+/).map(Number);
      for (const entry of await readdir(state)) {
        if (/^(owner|held|monitor)-\d+$/.test(entry) && (await readFile(join(state, entry), 'utf8').catch(() => '')).trim() === owner) {
          const line = entry.split('-')[1]!;
          await rm(file('held', Number(line)), { force: true });
          await rm(file('monitor', Number(line)), { force: true });
          await rm(file('owner', Number(line)), { force: true });
        }
      }
      for (const pid of pids.reverse()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    async processes() {
      return (await readdir(state)).filter((entry) => /^pids-\d+$/.test(entry) && isAlive(Number(entry.slice(5)))).length;
    },
    async calls() {
      const text = await readFile(join(state, 'calls.log'), 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean).map((line) => line.replaceAll(`${devRoot}/`, '/dev/'));
    },
    async cleanup() {
      await rm(root, { recursive: true, force: true });
    },
  };
}
