import { access, constants, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendUnavailableError, HardwareIoError } from '../errors.js';
import type { BitValue, Edge, GpioController, GpioInputOptions, GpioLine, GpioOutputOptions } from '../types.js';
import type { Logger } from '../../util/logger.js';
import { EdgeDebouncer } from './edge-debouncer.js';
import { LineRegistry } from './line-registry.js';
import { ListenerSet } from './listeners.js';
import { loadOnoff } from './onoff-loader.js';
import type { OnoffCallback, OnoffDirection, OnoffGpio, OnoffGpioClass, OnoffModule } from './onoff-loader.js';
import { lineName } from './pi-chips.js';
import { sysfsError } from './sysfs-errors.js';
import { describeSysfsMapping, resolveSysfsNumbering, toSysfsNumber } from './sysfs-numbering.js';
import type { SysfsNumbering } from './sysfs-numbering.js';

export interface SysfsGpioOptions {
  logger: Logger;
  /** `/sys` on a real system. onoff itself always uses /sys/class/gpio; this root serves numbering and checks. */
  sysfsRoot?: string;
  /** Config override for the chip base (see sysfs-numbering.ts). */
  chipBase?: number;
  /** Injectable for tests; defaults to a lazy `import('onoff')`. */
  loadOnoff?: () => Promise<OnoffModule>;
}

const invert = (value: BitValue): BitValue => (value === 1 ? 0 : 1);

/** `in`/`out` from `/sys/class/gpio/gpioN/direction`, or undefined when the line is not exported. */
export async function readSysfsDirection(sysfsRoot: string, sysfsNumber: number): Promise<'in' | 'out' | undefined> {
  try {
    const text = (await readFile(join(sysfsRoot, 'class', 'gpio', `gpio${sysfsNumber}`, 'direction'), 'utf8')).trim();
    return text === 'out' ? 'out' : 'in';
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw sysfsError(`sysfs gpio${sysfsNumber}`, error, 'reading direction');
  }
}

/**
 * What to hand onoff for an output. Writing `out` to the direction file drives the pin low and `high`/`low` set
 * the raw (electrical) level, so a pin already exported as an output must not be reconfigured at all, and a new
 * one gets its initial level in the same write that makes it an output.
 */
export function planSysfsOutput(currentDirection: 'in' | 'out' | undefined, options: GpioOutputOptions): { direction: OnoffDirection; keepLevel: boolean } {
  if (currentDirection === 'out') return { direction: 'out', keepLevel: true };
  const logical = options.initial ?? 0;
  const raw = options.activeLow ? invert(logical) : logical;
  return { direction: raw === 1 ? 'high' : 'low', keepLevel: false };
}

/** GPIO through the kernel's sysfs interface (`/sys/class/gpio`), driven by onoff. Build with `create()`. */
export class SysfsGpioController implements GpioController {
  readonly backend = 'sysfs';
  private readonly registry: LineRegistry;
  private readonly logger: Logger;

  constructor(
    private readonly Gpio: OnoffGpioClass,
    readonly numbering: SysfsNumbering,
    logger: Logger,
    private readonly sysfsRoot = '/sys',
  ) {
    this.logger = logger.child({ module: 'gpio' });
    this.registry = new LineRegistry(numbering.ngpio ?? 58);
  }

  static async create(options: SysfsGpioOptions): Promise<SysfsGpioController> {
    const sysfsRoot = options.sysfsRoot ?? '/sys';
    const exportFile = join(sysfsRoot, 'class', 'gpio', 'export');
    try {
      await access(exportFile, constants.F_OK);
    } catch (error) {
      throw new BackendUnavailableError('gpio', `${exportFile} does not exist: this kernel is built without sysfs GPIO (CONFIG_GPIO_SYSFS); use the chardev backend`, {
        code: 'ENOENT',
        cause: error,
      });
    }
    const { Gpio } = await (options.loadOnoff ?? loadOnoff)();
    if (!Gpio.accessible) {
      throw new BackendUnavailableError('gpio', `cannot write ${exportFile}: add the service user to the gpio group (sudo usermod -aG gpio <user>)`, {
        code: 'EACCES',
      });
    }
    const numbering = await resolveSysfsNumbering({ sysfsRoot, chipBase: options.chipBase });
    const controller = new SysfsGpioController(Gpio, numbering, options.logger, sysfsRoot);
    controller.logger.info({ chip: numbering.label, base: numbering.base, source: numbering.source }, 'gpio backend: sysfs (onoff)');
    return controller;
  }

  openInput(bcm: number, options: GpioInputOptions = {}): Promise<GpioLine> {
    return this.registry.open(bcm, async () => this.createInput(bcm, options));
  }

  openOutput(bcm: number, options: GpioOutputOptions = {}): Promise<GpioLine> {
    return this.registry.open(bcm, () => this.createOutput(bcm, options));
  }

  private createInput(bcm: number, options: GpioInputOptions): GpioLine {
    const n = toSysfsNumber(this.numbering, bcm);
    const edge = options.edge ?? 'both';
    if (options.pull && options.pull !== 'none') {
      this.logger.warn({ bcm, pull: options.pull }, `sysfs GPIO cannot set pull-${options.pull}; add "gpio=${bcm}=ip,p${options.pull === 'up' ? 'u' : 'd'}" to config.txt or wire a resistor`);
    }
    // The kernel reports both edges and EdgeDebouncer filters, so every backend debounces the same way.
    const gpio = this.construct(bcm, n, 'in', edge === 'none' ? 'none' : 'both', { activeLow: options.activeLow ?? false, debounceTimeout: 0 });
    let initial: BitValue;
    try {
      initial = gpio.readSync();
    } catch (error) {
      gpio.unexport();
      throw sysfsError(lineName(bcm), error, 'reading value');
    }
    this.logger.info({ bcm, sysfs: n, edge, debounceMs: options.debounceMs ?? 0, activeLow: options.activeLow ?? false }, `${describeSysfsMapping(this.numbering, bcm)}: input`);
    const edges = edge === 'none' ? undefined : { edge, debounceMs: options.debounceMs ?? 0, initial };
    return new SysfsInputLine(bcm, gpio, edges, this.logger, () => this.registry.delete(bcm));
  }

  private async createOutput(bcm: number, options: GpioOutputOptions): Promise<GpioLine> {
    const n = toSysfsNumber(this.numbering, bcm);
    const plan = planSysfsOutput(await readSysfsDirection(this.sysfsRoot, n), options);
    const gpio = this.construct(bcm, n, plan.direction, undefined, { activeLow: options.activeLow ?? false, reconfigureDirection: false });
    this.logger.info(
      { bcm, sysfs: n, activeLow: options.activeLow ?? false, keptLevel: plan.keepLevel },
      `${describeSysfsMapping(this.numbering, bcm)}: output ${plan.keepLevel ? 'already driven, level kept' : `initial ${options.initial ?? 0}`}`,
    );
    return new SysfsOutputLine(bcm, gpio, () => this.registry.delete(bcm));
  }

  async close(): Promise<void> {
    await this.registry.closeAll();
  }

  private construct(bcm: number, n: number, direction: OnoffDirection, edge: GpioInputOptions['edge'], options: ConstructorParameters<OnoffGpioClass>[3]): OnoffGpio {
    try {
      return new this.Gpio(n, direction, edge, options);
    } catch (error) {
      throw sysfsError(lineName(bcm), error, `configuring sysfs gpio${n} as ${direction}`);
    }
  }
}

class SysfsInputLine implements GpioLine {
  private readonly listeners: ListenerSet;
  private readonly debouncer: EdgeDebouncer | undefined;
  private readonly onInterrupt: OnoffCallback;
  private closed = false;

  constructor(
    readonly bcm: number,
    private readonly gpio: OnoffGpio,
    edges: { edge: Edge; debounceMs: number; initial: BitValue } | undefined,
    private readonly logger: Logger,
    private readonly onClose: () => void,
  ) {
    this.listeners = new ListenerSet({
      onFirst: () => {
        // Edges are only watched while someone listens; start from the level of now, not the one at open.
        try {
          this.debouncer?.reset(gpio.readSync());
        } catch (error) {
          logger.warn({ err: error, bcm }, 'gpio read failed before watching');
        }
        gpio.watch(this.onInterrupt);
      },
      onLast: () => gpio.unwatch(this.onInterrupt),
      onError: (error) => logger.error({ err: error, bcm }, 'gpio listener failed'),
    });
    this.debouncer = edges && new EdgeDebouncer({ ...edges, onEdge: (value) => this.listeners.emit(value) });
    this.onInterrupt = (error, value) => {
      if (error) {
        this.logger.warn({ err: error, bcm }, 'gpio interrupt error');
        return;
      }
      this.debouncer?.push(value);
    };
  }

  async read(): Promise<BitValue> {
    this.assertOpen('read');
    try {
      return await this.gpio.read();
    } catch (error) {
      throw sysfsError(lineName(this.bcm), error, 'read');
    }
  }

  async write(): Promise<void> {
    throw new HardwareIoError(lineName(this.bcm), 'write: line is an input', { code: 'EPERM' });
  }

  watch(listener: (value: BitValue) => void): () => void {
    this.assertOpen('watch');
    if (!this.debouncer) {
      this.logger.warn({ bcm: this.bcm }, 'watch() on an input opened with edge "none" never fires');
    }
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.debouncer?.dispose();
    this.listeners.clear();
    this.onClose();
    try {
      this.gpio.unexport();
    } catch (error) {
      throw sysfsError(lineName(this.bcm), error, 'unexport');
    }
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new HardwareIoError(lineName(this.bcm), `${what}: line is closed`);
  }
}

class SysfsOutputLine implements GpioLine {
  private closed = false;

  constructor(
    readonly bcm: number,
    private readonly gpio: OnoffGpio,
    private readonly onClose: () => void,
  ) {}

  async read(): Promise<BitValue> {
    this.assertOpen('read');
    try {
      return await this.gpio.read();
    } catch (error) {
      throw sysfsError(lineName(this.bcm), error, 'read');
    }
  }

  async write(value: BitValue): Promise<void> {
    this.assertOpen('write');
    try {
      await this.gpio.write(value);
    } catch (error) {
      throw sysfsError(lineName(this.bcm), error, 'write');
    }
  }

  watch(): () => void {
    return () => {};
  }

  // Outputs stay exported on purpose: unexporting releases the pin, and the next start must find it still driven.
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new HardwareIoError(lineName(this.bcm), `${what}: line is closed`);
  }
}
