import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendUnavailableError, DeviceNotPresentError, HardwareIoError, HardwareTimeoutError } from '../../errors.js';
import type { HardwareError } from '../../errors.js';
import type { BitValue, GpioController, GpioInputOptions, GpioLine, GpioOutputOptions, Pull } from '../../types.js';
import type { Logger } from '../../../util/logger.js';
import { EdgeDebouncer } from '../edge-debouncer.js';
import { LineRegistry } from '../line-registry.js';
import { ListenerSet } from '../listeners.js';
import { lineName, pickPiPinController } from '../pi-chips.js';
import {
  getArgs,
  getAsIsArgs,
  gpioinfoArgs,
  holdArgs,
  monitorArgs,
  parseGetOutput,
  parseGpiodetect,
  parseInfoDirection,
  parseLibgpiodVersion,
  parseMonitorLine,
} from './libgpiod-cli.js';
import type { DetectedChip, LibgpiodFlavour } from './libgpiod-cli.js';
import { createDefaultSpawn, runTool, ToolProcess } from './tool-process.js';
import type { SpawnFn } from './tool-process.js';

export interface GpiodToolPaths {
  gpiodetect: string;
  gpioinfo: string;
  gpioget: string;
  gpioset: string;
  gpiomon: string;
}

const DEFAULT_GPIOD_TOOLS: GpiodToolPaths = { gpiodetect: 'gpiodetect', gpioinfo: 'gpioinfo', gpioget: 'gpioget', gpioset: 'gpioset', gpiomon: 'gpiomon' };

export interface ChardevGpioOptions {
  logger: Logger;
  /** `/dev`; the chip is passed to the tools as `<devRoot>/gpiochipN`. */
  devRoot?: string;
  /** Executable names or paths of the libgpiod tools. */
  tools?: Partial<GpiodToolPaths>;
  spawn?: SpawnFn;
  /** How long a long-lived tool must stay up to count as having requested its line (v1 prints nothing). */
  startupGraceMs?: number;
  /** Limit for one-shot tools (gpioget, gpioinfo...) and interactive acknowledgements. */
  commandTimeoutMs?: number;
}

interface Context {
  flavour: LibgpiodFlavour;
  chip: DetectedChip & { path: string };
  tools: GpiodToolPaths;
  spawn: SpawnFn;
  graceMs: number;
  timeoutMs: number;
  logger: Logger;
}

const invertIf = (value: BitValue, activeLow: boolean): BitValue => (activeLow ? (value === 1 ? 0 : 1) : value);

/** Which libgpiod the tools are, from `gpioset --version` (and `--help` for v2's optional interactive mode). */
async function detectLibgpiod(spawnFn: SpawnFn, gpioset: string, timeoutMs = 5000): Promise<LibgpiodFlavour> {
  const versionText = await runTool(spawnFn, gpioset, ['--version'], 'gpio', timeoutMs);
  const parsed = parseLibgpiodVersion(versionText);
  if (!parsed) throw new BackendUnavailableError('gpio', `unrecognised libgpiod version: ${versionText.split('\n')[0] ?? ''}`);
  let interactiveSet = false;
  if (parsed.major === 2) interactiveSet = /--interactive/.test(await runTool(spawnFn, gpioset, ['--help'], 'gpio', timeoutMs));
  return { ...parsed, interactiveSet };
}

/** The Pi pin controller among `gpiodetect`'s chips, with its device node under `devRoot`. */
async function findPiGpioChip(spawnFn: SpawnFn, gpiodetect: string, devRoot = '/dev', timeoutMs = 5000): Promise<DetectedChip & { path: string }> {
  const chips = parseGpiodetect(await runTool(spawnFn, gpiodetect, [], 'gpiochip', timeoutMs));
  const chip = pickPiPinController(chips);
  if (!chip) {
    const found = chips.length === 0 ? 'no GPIO chips' : chips.map((c) => `${c.name} [${c.label}]`).join(', ');
    throw new DeviceNotPresentError('gpiochip', `no Raspberry Pi pin controller (pinctrl-rp1, pinctrl-bcm2711, pinctrl-bcm2835) in gpiodetect output; found ${found}`);
  }
  const path = join(devRoot, chip.name);
  try {
    await access(path, constants.F_OK);
  } catch (error) {
    throw new DeviceNotPresentError('gpiochip', `${path} does not exist`, { code: 'ENOENT', cause: error });
  }
  return { ...chip, path };
}

/**
 * GPIO through the character device (`/dev/gpiochipN`), by running Debian's libgpiod tools: gpiomon streams
 * edges of inputs, and a long-lived gpioset holds each output. The kernel's supported GPIO interface; sysfs GPIO is
 * deprecated, though Raspberry Pi kernels still build it.
 */
export class ChardevGpioController implements GpioController {
  readonly backend = 'chardev';
  private readonly registry: LineRegistry;

  private constructor(private readonly context: Context) {
    this.registry = new LineRegistry(context.chip.lines);
  }

  get flavour(): LibgpiodFlavour {
    return this.context.flavour;
  }

  get chip(): DetectedChip & { path: string } {
    return this.context.chip;
  }

  static async create(options: ChardevGpioOptions): Promise<ChardevGpioController> {
    const tools = { ...DEFAULT_GPIOD_TOOLS, ...options.tools };
    const spawnFn = options.spawn ?? createDefaultSpawn();
    const timeoutMs = options.commandTimeoutMs ?? 5000;
    const logger = options.logger.child({ module: 'gpio' });
    const flavour = await detectLibgpiod(spawnFn, tools.gpioset, timeoutMs);
    const chip = await findPiGpioChip(spawnFn, tools.gpiodetect, options.devRoot, timeoutMs);
    logger.info(
      { chip: chip.label, device: chip.path, libgpiod: flavour.version, interactiveSet: flavour.interactiveSet },
      `gpio backend: chardev via libgpiod v${flavour.version} tools on ${chip.name} [${chip.label}]`,
    );
    return new ChardevGpioController({ flavour, chip, tools, spawn: spawnFn, graceMs: options.startupGraceMs ?? 150, timeoutMs, logger });
  }

  openInput(bcm: number, options: GpioInputOptions = {}): Promise<GpioLine> {
    return this.registry.open(bcm, () => ChardevInputLine.open(this.context, bcm, options, () => this.registry.delete(bcm)));
  }

  openOutput(bcm: number, options: GpioOutputOptions = {}): Promise<GpioLine> {
    return this.registry.open(bcm, () => ChardevOutputLine.open(this.context, bcm, options, () => this.registry.delete(bcm)));
  }

  async close(): Promise<void> {
    await this.registry.closeAll();
  }
}

async function readLine(context: Context, bcm: number, pull: Pull | undefined): Promise<BitValue> {
  const { flavour, chip, tools } = context;
  const output = await runTool(context.spawn, tools.gpioget, getArgs(flavour, chip.path, bcm, pull), lineName(bcm), context.timeoutMs);
  const raw = parseGetOutput(output);
  if (raw === undefined) throw new HardwareIoError(lineName(bcm), `unexpected gpioget output: ${JSON.stringify(output)}`);
  return raw;
}

class ChardevInputLine implements GpioLine {
  private readonly listeners: ListenerSet;
  private debouncer: EdgeDebouncer | undefined;
  private monitor: ToolProcess | undefined;
  private failure: HardwareError | undefined;
  private level: BitValue = 0;
  private closed = false;

  private constructor(
    private readonly context: Context,
    readonly bcm: number,
    private readonly options: GpioInputOptions,
    private readonly onClose: () => void,
  ) {
    this.listeners = new ListenerSet({ onError: (error) => context.logger.error({ err: error, bcm }, 'gpio listener failed') });
  }

  static async open(context: Context, bcm: number, options: GpioInputOptions, onClose: () => void): Promise<ChardevInputLine> {
    const line = new ChardevInputLine(context, bcm, options, onClose);
    await line.start();
    return line;
  }

  private get activeLow(): boolean {
    return this.options.activeLow ?? false;
  }

  /**
   * Reads the level, then (for edges) leaves gpiomon holding the line and tracks the level from its events: while
   * it runs, gpioget could not request the line. An edge in the few ms between the two is not seen.
   */
  private async start(): Promise<void> {
    const { context, bcm, options } = this;
    this.level = invertIf(await readLine(context, bcm, options.pull), this.activeLow);
    const edge = options.edge ?? 'both';
    if (edge !== 'none') {
      this.debouncer = new EdgeDebouncer({ edge, debounceMs: options.debounceMs ?? 0, initial: this.level, onEdge: (value) => this.listeners.emit(value) });
      const args = monitorArgs(context.flavour, context.chip.path, bcm, options.pull);
      const monitor = ToolProcess.start(context.spawn, context.tools.gpiomon, args, lineName(bcm), (text) => this.onEvent(text));
      this.monitor = monitor;
      try {
        await monitor.started(context.graceMs);
      } catch (error) {
        this.debouncer.dispose();
        throw error;
      }
      void monitor.exited.then((status) => {
        if (this.closed) return;
        this.failure = monitor.failure(status);
        context.logger.error({ err: this.failure, bcm }, 'gpiomon stopped; edges on this line are lost until it is reopened');
      });
    }
    context.logger.info({ bcm, chip: context.chip.name, edge, activeLow: this.activeLow, pull: options.pull }, `${lineName(bcm)} → ${context.chip.name} line ${bcm}: input`);
  }

  private onEvent(text: string): void {
    const event = parseMonitorLine(text);
    if (!event || event.offset !== this.bcm) return;
    this.level = invertIf(event.level, this.activeLow);
    this.debouncer?.push(this.level);
  }

  async read(): Promise<BitValue> {
    this.assertUsable('read');
    if (this.monitor) return this.level;
    return invertIf(await readLine(this.context, this.bcm, this.options.pull), this.activeLow);
  }

  async write(): Promise<void> {
    throw new HardwareIoError(lineName(this.bcm), 'write: line is an input', { code: 'EPERM' });
  }

  watch(listener: (value: BitValue) => void): () => void {
    this.assertUsable('watch');
    if (!this.monitor) this.context.logger.warn({ bcm: this.bcm }, 'watch() on an input opened with edge "none" never fires');
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.debouncer?.dispose();
    this.listeners.clear();
    this.onClose();
    await this.monitor?.stop();
  }

  private assertUsable(what: string): void {
    if (this.closed) throw new HardwareIoError(lineName(this.bcm), `${what}: line is closed`);
    if (this.failure) throw this.failure;
  }
}

class ChardevOutputLine implements GpioLine {
  private holder: ToolProcess | undefined;
  private raw: BitValue = 0;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly acks: ((raw: BitValue) => void)[] = [];

  private constructor(
    private readonly context: Context,
    readonly bcm: number,
    private readonly activeLow: boolean,
    private readonly onClose: () => void,
  ) {}

  static async open(context: Context, bcm: number, options: GpioOutputOptions, onClose: () => void): Promise<ChardevOutputLine> {
    const line = new ChardevOutputLine(context, bcm, options.activeLow ?? false, onClose);
    const kept = await line.currentOutputLevel();
    const raw = kept ?? invertIf(options.initial ?? 0, line.activeLow);
    await line.hold(raw);
    context.logger.info(
      { bcm, chip: context.chip.name, activeLow: line.activeLow, keptLevel: kept !== undefined },
      `${lineName(bcm)} → ${context.chip.name} line ${bcm}: output ${kept !== undefined ? 'already driven, level kept' : `initial ${options.initial ?? 0}`}`,
    );
    return line;
  }

  /**
   * The level of a line that is already an output, so that opening it does not change it. v2 can read it as-is;
   * v1's gpioget would turn the line into an input (a glitch), so v1 falls back to the configured initial level.
   */
  private async currentOutputLevel(): Promise<BitValue | undefined> {
    const { context, bcm } = this;
    let direction: 'input' | 'output' | undefined;
    try {
      direction = parseInfoDirection(await runTool(context.spawn, context.tools.gpioinfo, gpioinfoArgs(context.flavour, context.chip.path), lineName(bcm), context.timeoutMs), bcm);
    } catch (error) {
      context.logger.debug({ err: error, bcm }, 'gpioinfo failed; using the initial level');
      return undefined;
    }
    if (direction !== 'output') return undefined;
    if (context.flavour.major === 1) {
      context.logger.warn({ bcm }, 'line is already an output but libgpiod v1 cannot read it without reconfiguring it; setting the initial level');
      return undefined;
    }
    return parseGetOutput(await runTool(context.spawn, context.tools.gpioget, getAsIsArgs(context.chip.path, bcm), lineName(bcm), context.timeoutMs));
  }

  private async hold(raw: BitValue): Promise<void> {
    const { context, bcm } = this;
    const holder = ToolProcess.start(context.spawn, context.tools.gpioset, holdArgs(context.flavour, context.chip.path, bcm, raw), lineName(bcm), (text) => this.onOutput(text));
    this.holder = holder;
    try {
      if (context.flavour.interactiveSet) await this.acknowledged(holder);
      else await holder.started(context.graceMs);
    } catch (error) {
      this.holder = undefined;
      await holder.stop();
      throw error;
    }
    this.raw = raw;
    void holder.exited.then((status) => {
      if (this.closed || this.holder !== holder) return;
      this.holder = undefined;
      context.logger.error({ err: holder.failure(status), bcm }, 'gpioset stopped; the output is no longer held');
    });
  }

  private onOutput(text: string): void {
    const match = /"?(\d+)"?=(active|inactive)\b/.exec(text);
    if (match && Number(match[1]) === this.bcm) this.acks.shift()?.(match[2] === 'active' ? 1 : 0);
  }

  /** Interactive v2 gpioset: ask `get` and wait for the answer, which also proves earlier commands were applied. */
  private async acknowledged(holder: ToolProcess): Promise<BitValue> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let ack: ((raw: BitValue) => void) | undefined;
    const answer = new Promise<BitValue>((resolve) => {
      ack = resolve;
      this.acks.push(resolve);
    });
    holder.write(`get ${this.bcm}\n`);
    const outcome = await Promise.race([
      answer.then((raw) => ({ raw })),
      holder.exited.then((status) => ({ error: holder.failure(status) })),
      new Promise<{ error: HardwareError }>((resolve) => {
        timer = setTimeout(() => resolve({ error: new HardwareTimeoutError(lineName(this.bcm), 'gpioset did not answer', { code: 'ETIMEDOUT' }) }), this.context.timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if ('error' in outcome) {
      const index = this.acks.indexOf(ack!);
      if (index >= 0) this.acks.splice(index, 1);
      throw outcome.error;
    }
    return outcome.raw;
  }

  async read(): Promise<BitValue> {
    this.assertUsable('read');
    return invertIf(this.raw, this.activeLow);
  }

  write(value: BitValue): Promise<void> {
    const run = this.queue.then(() => this.apply(value));
    this.queue = run.catch(() => {});
    return run;
  }

  private async apply(value: BitValue): Promise<void> {
    if (this.closed) throw new HardwareIoError(lineName(this.bcm), 'write: line is closed');
    const raw = invertIf(value, this.activeLow);
    if (raw === this.raw && this.holder) return;
    const holder = this.holder;
    if (holder && this.context.flavour.interactiveSet) {
      holder.write(`set ${this.bcm}=${raw}\n`);
      const applied = await this.acknowledged(holder);
      if (applied !== raw) throw new HardwareIoError(lineName(this.bcm), `gpioset reports ${applied} after set ${raw}`);
      this.raw = raw;
      return;
    }
    // Without interactive mode the only way to change the level is a new gpioset: the line is released briefly.
    // This path also restarts a gpioset that died.
    this.holder = undefined;
    await holder?.stop();
    await this.hold(raw);
  }

  watch(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    await this.queue;
    const holder = this.holder;
    this.holder = undefined;
    await holder?.stop();
  }

  private assertUsable(what: string): void {
    if (this.closed) throw new HardwareIoError(lineName(this.bcm), `${what}: line is closed`);
    if (!this.holder) throw new HardwareIoError(lineName(this.bcm), `${what}: gpioset is not running (see the log)`);
  }
}
