import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendUnavailableError, DeviceNotPresentError, HardwareIoError, HardwareTimeoutError } from '../../errors.js';
import type { HardwareError } from '../../errors.js';
import type { BitValue, GpioController, GpioInputOptions, GpioLine, GpioLineStatus, GpioOutputOptions, Pull } from '../../types.js';
import type { Logger } from '../../../util/logger.js';
import { EdgeDebouncer } from '../edge-debouncer.js';
import { LineRegistry } from '../line-registry.js';
import { LineStatus } from '../line-status.js';
import { ListenerSet } from '../listeners.js';
import { lineName, pickPiPinController } from '../pi-chips.js';
import {
  getArgs,
  getAsIsArgs,
  gpioinfoArgs,
  holdArgs,
  MONITOR_BANNER,
  monitorArgs,
  parseGetOutput,
  parseGpiodetect,
  parseInfoDirection,
  parseLibgpiodVersion,
  parseMonitorLine,
  parseSetterAnswer,
  SET_BANNER,
} from './libgpiod-cli.js';
import type { DetectedChip, LibgpiodFlavour } from './libgpiod-cli.js';
import { SupervisedTool } from './supervised-tool.js';
import type { ToolSpec } from './supervised-tool.js';
import { createDefaultSpawn, runTool } from './tool-process.js';
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
  /** How long a long-lived v1 tool must stay up to count as having requested its lines (v1 prints no banner). */
  startupGraceMs?: number;
  /** Limit for one-shot tools (gpioget, gpioinfo...), banners and interactive acknowledgements. */
  commandTimeoutMs?: number;
  /** Waits before restarting a gpiomon or gpioset that died; the last repeats. */
  restartDelaysMs?: readonly number[];
}

interface Context {
  flavour: LibgpiodFlavour;
  chip: DetectedChip & { path: string };
  tools: GpiodToolPaths;
  spawn: SpawnFn;
  graceMs: number;
  timeoutMs: number;
  restartDelaysMs: readonly number[] | undefined;
  logger: Logger;
  /** The per-line gpiosets (v1, non-interactive v2) of this controller. */
  outputHolders: Set<SupervisedTool>;
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
 * GPIO through the character device (`/dev/gpiochipN`), by running Debian's libgpiod tools: one gpiomon streams the
 * edges of all watched inputs of the chip (one per distinct bias/debounce), and with v2's interactive gpioset one
 * process holds all outputs; v1 and non-interactive v2 need one gpioset per output (see holdArgs). A tool that dies
 * is restarted; its lines fail with its error until then. The kernel's supported GPIO interface; sysfs GPIO is
 * deprecated, though Raspberry Pi kernels still build it.
 */
export class ChardevGpioController implements GpioController {
  readonly backend = 'chardev';
  private readonly registry: LineRegistry;
  private readonly monitors = new Map<string, MonitorGroup>();
  private setter: SetterGroup | undefined;

  private constructor(private readonly context: Context) {
    this.registry = new LineRegistry(context.chip.lines);
  }

  /** Running long-lived tools: gpiomon groups plus the shared or per-line gpiosets, for diagnostics and tests. */
  get processCount(): number {
    let count = [...this.monitors.values()].filter((group) => group.running).length;
    if (this.setter?.running) count++;
    return count + [...this.context.outputHolders].filter((tool) => tool.process !== undefined).length;
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
    return new ChardevGpioController({
      flavour,
      chip,
      tools,
      spawn: spawnFn,
      graceMs: options.startupGraceMs ?? 150,
      timeoutMs,
      restartDelaysMs: options.restartDelaysMs,
      logger,
      outputHolders: new Set(),
    });
  }

  openInput(bcm: number, options: GpioInputOptions = {}): Promise<GpioLine> {
    return this.registry.open(bcm, () => ChardevInputLine.open(this.context, bcm, options, (key) => this.monitor(key, options), () => this.registry.delete(bcm)));
  }

  openOutput(bcm: number, options: GpioOutputOptions = {}): Promise<GpioLine> {
    const shared = this.context.flavour.interactiveSet ? (this.setter ??= new SetterGroup(this.context)) : undefined;
    return this.registry.open(bcm, () => ChardevOutputLine.open(this.context, bcm, options, shared, () => this.registry.delete(bcm)));
  }

  async close(): Promise<void> {
    await this.registry.closeAll();
    await Promise.all([...this.monitors.values()].map((group) => group.close()));
    await this.setter?.close();
  }

  /** The gpiomon group for inputs with these settings (the tools apply one bias and debounce per request). */
  private monitor(key: string, options: GpioInputOptions): MonitorGroup {
    let group = this.monitors.get(key);
    if (!group) {
      group = new MonitorGroup(this.context, options.pull, this.context.flavour.major === 2 ? (options.debounceMs ?? 0) : 0);
      this.monitors.set(key, group);
    }
    return group;
  }
}

interface MonitoredLine {
  onLevel(raw: BitValue): void;
  onDown(error: HardwareError): void;
  onUp(): void;
  /** Reads the level while no gpiomon holds the line, so edges missed while it was down are caught up. */
  resync(): Promise<void>;
}

/** One gpiomon for every watched input of the chip with the same bias and debounce. */
class MonitorGroup {
  private readonly lines = new Map<number, MonitoredLine>();
  private readonly tool: SupervisedTool;

  constructor(
    private readonly context: Context,
    pull: Pull | undefined,
    debounceMs: number,
  ) {
    const device = `${context.chip.name} gpiomon`;
    this.tool = new SupervisedTool(
      (): ToolSpec | undefined =>
        this.lines.size === 0
          ? undefined
          : {
              command: context.tools.gpiomon,
              args: monitorArgs(context.flavour, context.chip.path, [...this.lines.keys()].sort((a, b) => a - b), pull, debounceMs),
              banner: context.flavour.major === 2 ? MONITOR_BANNER : undefined,
            },
      {
        spawn: context.spawn,
        logger: context.logger,
        device,
        graceMs: context.graceMs,
        timeoutMs: context.timeoutMs,
        restartDelaysMs: context.restartDelaysMs,
        onLine: (text) => {
          const event = parseMonitorLine(text);
          if (event) this.lines.get(event.offset)?.onLevel(event.level);
        },
        beforeStart: async () => {
          for (const line of this.lines.values()) await line.resync();
        },
        onDown: (error) => this.lines.forEach((line) => line.onDown(error)),
        onUp: () => this.lines.forEach((line) => line.onUp()),
      },
    );
  }

  get running(): boolean {
    return this.tool.process !== undefined;
  }

  /** Adds the line to the request: gpiomon restarts with all lines (edges on the others are not seen meanwhile). */
  async add(offset: number, line: MonitoredLine): Promise<void> {
    this.lines.set(offset, line);
    try {
      await this.tool.restart();
    } catch (error) {
      this.lines.delete(offset);
      // The others were released by the attempt: take them back.
      if (this.lines.size > 0) await this.tool.restart().catch(() => {});
      throw error;
    }
  }

  async remove(offset: number): Promise<void> {
    if (!this.lines.delete(offset)) return;
    await this.tool.restart().catch((error: unknown) => this.context.logger.error({ err: error }, 'gpiomon could not be restarted without a closed line'));
  }

  close(): Promise<void> {
    this.lines.clear();
    return this.tool.close();
  }
}

/** One interactive v2 gpioset holding every output of the chip; levels change through `set`, confirmed by `get`. */
class SetterGroup {
  private readonly levels = new Map<number, BitValue>();
  private readonly lines = new Map<number, { onDown(error: HardwareError): void; onUp(): void }>();
  private readonly acks: { offset: number; resolve: (raw: BitValue) => void }[] = [];
  private readonly tool: SupervisedTool;

  constructor(private readonly context: Context) {
    this.tool = new SupervisedTool(
      (): ToolSpec | undefined =>
        this.levels.size === 0 ? undefined : { command: context.tools.gpioset, args: holdArgs(context.flavour, context.chip.path, this.levels), banner: SET_BANNER },
      {
        spawn: context.spawn,
        logger: context.logger,
        device: `${context.chip.name} gpioset`,
        graceMs: context.graceMs,
        timeoutMs: context.timeoutMs,
        restartDelaysMs: context.restartDelaysMs,
        onLine: (text) => {
          const answer = parseSetterAnswer(text);
          if (!answer) return;
          const index = this.acks.findIndex((ack) => ack.offset === answer.offset);
          if (index >= 0) this.acks.splice(index, 1)[0]!.resolve(answer.raw);
        },
        onDown: (error) => this.lines.forEach((line) => line.onDown(error)),
        onUp: () => this.lines.forEach((line) => line.onUp()),
      },
    );
  }

  get running(): boolean {
    return this.tool.process !== undefined;
  }

  /**
   * Adds the output: gpioset restarts with every line at its current level. Between the old process exiting and the
   * new one requesting the lines they are released for a moment (see docs/gpio.md, "Restarts").
   */
  async add(offset: number, raw: BitValue, line: { onDown(error: HardwareError): void; onUp(): void }): Promise<void> {
    this.levels.set(offset, raw);
    this.lines.set(offset, line);
    try {
      await this.tool.restart();
      const applied = await this.ask(offset);
      if (applied !== raw) throw new HardwareIoError(lineName(offset), `gpioset reports ${applied} after requesting ${raw}`);
    } catch (error) {
      this.levels.delete(offset);
      this.lines.delete(offset);
      if (this.levels.size > 0) await this.tool.restart().catch(() => {});
      throw error;
    }
  }

  async set(offset: number, raw: BitValue): Promise<void> {
    const process = this.tool.process;
    if (!process) throw new HardwareIoError(lineName(offset), 'write: gpioset is not running (see the log)');
    process.write(`set ${offset}=${raw}\n`);
    const applied = await this.ask(offset);
    if (applied !== raw) throw new HardwareIoError(lineName(offset), `gpioset reports ${applied} after set ${raw}`);
    this.levels.set(offset, raw);
  }

  async remove(offset: number): Promise<void> {
    this.lines.delete(offset);
    if (!this.levels.delete(offset)) return;
    await this.tool.restart().catch((error: unknown) => this.context.logger.error({ err: error }, 'gpioset could not be restarted without a closed line'));
  }

  close(): Promise<void> {
    this.levels.clear();
    this.lines.clear();
    return this.tool.close();
  }

  /** `get <offset>` and its answer, which also proves that the commands before it were applied. */
  private async ask(offset: number): Promise<BitValue> {
    const process = this.tool.process;
    if (!process) throw new HardwareIoError(lineName(offset), 'gpioset is not running (see the log)');
    let timer: ReturnType<typeof setTimeout> | undefined;
    let ack: { offset: number; resolve: (raw: BitValue) => void } | undefined;
    const answer = new Promise<BitValue>((resolve) => {
      ack = { offset, resolve };
      this.acks.push(ack);
    });
    process.write(`get ${offset}\n`);
    const outcome = await Promise.race([
      answer.then((raw) => ({ raw })),
      process.exited.then((status) => ({ error: process.failure(status) })),
      new Promise<{ error: HardwareError }>((resolve) => {
        timer = setTimeout(() => resolve({ error: new HardwareTimeoutError(lineName(offset), 'gpioset did not answer', { code: 'ETIMEDOUT' }) }), this.context.timeoutMs);
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
  private readonly status: LineStatus;
  private debouncer: EdgeDebouncer | undefined;
  private group: MonitorGroup | undefined;
  private level: BitValue = 0;
  private closed = false;

  private constructor(
    private readonly context: Context,
    readonly bcm: number,
    private readonly options: GpioInputOptions,
    private readonly onClose: () => void,
  ) {
    this.listeners = new ListenerSet({ onError: (error) => context.logger.error({ err: error, bcm }, 'gpio listener failed') });
    this.status = new LineStatus((error) => context.logger.error({ err: error, bcm }, 'gpio status listener failed'));
  }

  static async open(
    context: Context,
    bcm: number,
    options: GpioInputOptions,
    monitor: (key: string) => MonitorGroup,
    onClose: () => void,
  ): Promise<ChardevInputLine> {
    const line = new ChardevInputLine(context, bcm, options, onClose);
    await line.start(monitor);
    return line;
  }

  private get activeLow(): boolean {
    return this.options.activeLow ?? false;
  }

  /** With v2 the kernel debounces (gpiomon -p); the gateway's debouncer then only filters by edge. */
  private get gatewayDebounceMs(): number {
    return this.context.flavour.major === 2 ? 0 : (this.options.debounceMs ?? 0);
  }

  /**
   * Reads the level, then (for edges) joins the chip's gpiomon, which holds the line, and tracks the level from its
   * events: while it runs, gpioget could not request the line. An edge in the few ms between the two is not seen.
   */
  private async start(monitor: (key: string) => MonitorGroup): Promise<void> {
    const { context, bcm, options } = this;
    this.level = invertIf(await readLine(context, bcm, options.pull), this.activeLow);
    const edge = options.edge ?? 'both';
    if (edge !== 'none') {
      this.debouncer = new EdgeDebouncer({ edge, debounceMs: this.gatewayDebounceMs, initial: this.level, onEdge: (value) => this.listeners.emit(value) });
      const debounce = context.flavour.major === 2 ? (options.debounceMs ?? 0) : 0;
      const group = monitor(`${options.pull ?? '-'}|${debounce}`);
      try {
        await group.add(bcm, {
          onLevel: (raw) => this.onLevel(raw),
          onDown: (error) => this.status.down(error),
          onUp: () => this.status.up(),
          resync: async () => {
            // Skipped for the line being added (its level was just read); catches up on edges missed while down.
            if (this.group) this.onLevel(await readLine(context, bcm, options.pull));
          },
        });
      } catch (error) {
        this.debouncer.dispose();
        throw error;
      }
      this.group = group;
    }
    context.logger.info({ bcm, chip: context.chip.name, edge, activeLow: this.activeLow, pull: options.pull }, `${lineName(bcm)} → ${context.chip.name} line ${bcm}: input`);
  }

  private onLevel(raw: BitValue): void {
    this.level = invertIf(raw, this.activeLow);
    this.debouncer?.push(this.level);
  }

  async read(): Promise<BitValue> {
    this.assertUsable('read');
    if (this.group) return this.level;
    return invertIf(await readLine(this.context, this.bcm, this.options.pull), this.activeLow);
  }

  async write(): Promise<void> {
    throw new HardwareIoError(lineName(this.bcm), 'write: line is an input', { code: 'EPERM' });
  }

  watch(listener: (value: BitValue) => void): () => void {
    this.assertUsable('watch');
    if (!this.group) this.context.logger.warn({ bcm: this.bcm }, 'watch() on an input opened with edge "none" never fires');
    return this.listeners.add(listener);
  }

  /** An input opened with edge "none" is read by gpioget each time, and no long-lived tool can die under it. */
  onStatus(listener: (status: GpioLineStatus) => void): () => void {
    return this.status.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.debouncer?.dispose();
    this.listeners.clear();
    this.status.clear();
    this.onClose();
    const group = this.group;
    this.group = undefined;
    await group?.remove(this.bcm);
  }

  private assertUsable(what: string): void {
    if (this.closed) throw new HardwareIoError(lineName(this.bcm), `${what}: line is closed`);
    if (this.status.failure) throw this.status.failure;
  }
}

class ChardevOutputLine implements GpioLine {
  /** Per-line gpioset (v1, non-interactive v2); undefined when the chip's interactive gpioset holds the line. */
  private holder: SupervisedTool | undefined;
  private raw: BitValue = 0;
  private readonly status: LineStatus;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly context: Context,
    readonly bcm: number,
    private readonly activeLow: boolean,
    private readonly shared: SetterGroup | undefined,
    private readonly onClose: () => void,
  ) {
    this.status = new LineStatus((error) => context.logger.error({ err: error, bcm }, 'gpio status listener failed'));
  }

  static async open(context: Context, bcm: number, options: GpioOutputOptions, shared: SetterGroup | undefined, onClose: () => void): Promise<ChardevOutputLine> {
    const line = new ChardevOutputLine(context, bcm, options.activeLow ?? false, shared, onClose);
    const kept = await line.currentOutputLevel();
    const raw = kept ?? invertIf(options.initial ?? 0, line.activeLow);
    line.raw = raw;
    // A restarted gpioset requests the line at line.raw (per-line) or the group's levels: the last level applied.
    const health = {
      onDown: (error: HardwareError) => line.status.down(error),
      onUp: () => line.status.up(),
    };
    if (shared) {
      await shared.add(bcm, raw, health);
    } else {
      const holder = new SupervisedTool(
        (): ToolSpec => ({
          command: context.tools.gpioset,
          args: holdArgs(context.flavour, context.chip.path, new Map([[bcm, line.raw]])),
          banner: context.flavour.major === 2 ? SET_BANNER : undefined,
        }),
        { spawn: context.spawn, logger: context.logger, device: lineName(bcm), graceMs: context.graceMs, timeoutMs: context.timeoutMs, restartDelaysMs: context.restartDelaysMs, ...health },
      );
      await holder.restart();
      line.holder = holder;
      context.outputHolders.add(holder);
    }
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
    this.assertUsable('write');
    const raw = invertIf(value, this.activeLow);
    if (raw === this.raw) return;
    if (this.shared) {
      await this.shared.set(this.bcm, raw);
      this.raw = raw;
      return;
    }
    // Without interactive mode the only way to change the level is a new gpioset: the line is released briefly.
    const previous = this.raw;
    this.raw = raw;
    try {
      await this.holder!.restart();
    } catch (error) {
      this.raw = previous;
      throw error;
    }
  }

  watch(): () => void {
    return () => {};
  }

  onStatus(listener: (status: GpioLineStatus) => void): () => void {
    return this.status.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.status.clear();
    this.onClose();
    await this.queue;
    if (this.shared) await this.shared.remove(this.bcm);
    const holder = this.holder;
    this.holder = undefined;
    if (holder) {
      this.context.outputHolders.delete(holder);
      await holder.close();
    }
  }

  private assertUsable(what: string): void {
    if (this.closed) throw new HardwareIoError(lineName(this.bcm), `${what}: line is closed`);
    const failure = this.status.failure;
    if (failure) throw new HardwareIoError(lineName(this.bcm), `${what}: gpioset is not running (${failure.message}); it is being restarted`, { cause: failure });
  }
}
