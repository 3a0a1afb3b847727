import { DeviceNotPresentError, HardwareIoError, fromOsError } from '../../src/drivers/errors.js';
import { EdgeDebouncer } from '../../src/drivers/gpio/edge-debouncer.js';
import { LineRegistry } from '../../src/drivers/gpio/line-registry.js';
import { ListenerSet } from '../../src/drivers/gpio/listeners.js';
import { lineName } from '../../src/drivers/gpio/pi-chips.js';
import type { BitValue, GpioController, GpioInputOptions, GpioLine, GpioOutputOptions, Pull } from '../../src/drivers/types.js';
import type { Logger } from '../../src/util/logger.js';

export type SimulatedOperation = 'open' | 'read' | 'write';

export interface SimulatedFault {
  /** Which operation fails; `any` = the next of any kind. */
  op?: SimulatedOperation | 'any';
  /** OS error code to raise: `EIO`, `EBUSY`, `EACCES`, `ENODEV`... */
  code: string;
  /** How many consecutive operations fail (default 1). */
  times?: number;
}

export interface OutputChange {
  /** `Date.now()` at the change (fake timers control it). */
  at: number;
  /** Electrical level on the pin. */
  level: BitValue;
  /** Logical value the caller wrote. */
  value: BitValue;
}

export interface SimulatedGpioOptions {
  /** Lines of the virtual chip (default 54, like a bcm2835). */
  lines?: number;
  /** Level of an input pin with no pull and nothing driving it (default 0). */
  floatingLevel?: BitValue;
  logger?: Logger;
}

/**
 * A GpioController on a virtual chip, plus the handles a test or the demo mode uses to play the outside world.
 * Levels given to and returned by the simulation handles are electrical (what a voltmeter shows); the GpioLine API
 * sees logical values, after active-low. The chip outlives close(): reopening after close() models a restart.
 */
export interface SimulatedGpio extends GpioController {
  /** Drive an input pin from outside (a button, a sensor). Throws if the pin is an output. */
  drive(bcm: number, level: BitValue): void;
  /** Electrical level of a pin. */
  level(bcm: number): BitValue;
  /** Every level an output was set to, in order (including the initial one). */
  history(bcm: number): readonly OutputChange[];
  /** How the pin is configured now. */
  mode(bcm: number): 'unused' | 'input' | 'output';
  /** Make the next operation(s) on a line fail with an OS error code. */
  injectFault(bcm: number, fault: SimulatedFault): void;
  /** The line vanishes (ENODEV on every operation, no edges) until restore(). */
  remove(bcm: number): void;
  restore(bcm: number): void;
  isOpen(bcm: number): boolean;
}

interface PinState {
  level: BitValue;
  mode: 'unused' | 'input' | 'output';
  pull: Pull;
  history: OutputChange[];
  present: boolean;
  faults: Required<SimulatedFault>[];
  /** Called with the new electrical level while an input line is open. */
  onLevel?: (level: BitValue) => void;
  /** Called when the line re-appears. */
  onRestore?: (level: BitValue) => void;
}

export function createSimulatedGpio(options: SimulatedGpioOptions = {}): SimulatedGpio {
  return new SimulatedGpioChip(options);
}

const invert = (value: BitValue, activeLow: boolean | undefined): BitValue => (activeLow ? (value === 1 ? 0 : 1) : value);

class SimulatedGpioChip implements SimulatedGpio {
  readonly backend = 'mock';
  private readonly pins = new Map<number, PinState>();
  private registry: LineRegistry;
  private readonly lineCount: number;
  private readonly floatingLevel: BitValue;
  private readonly logger: Logger | undefined;

  constructor(options: SimulatedGpioOptions) {
    this.lineCount = options.lines ?? 54;
    this.floatingLevel = options.floatingLevel ?? 0;
    this.logger = options.logger?.child({ module: 'gpio' });
    this.registry = new LineRegistry(this.lineCount);
  }

  openInput(bcm: number, options: GpioInputOptions = {}): Promise<GpioLine> {
    return this.registry.open(bcm, async () => this.createInput(bcm, options));
  }

  openOutput(bcm: number, options: GpioOutputOptions = {}): Promise<GpioLine> {
    return this.registry.open(bcm, async () => this.createOutput(bcm, options));
  }

  private createInput(bcm: number, options: GpioInputOptions): GpioLine {
    const registry = this.registry;
    const pin = this.pin(bcm);
    this.check(bcm, 'open');
    const pull = options.pull ?? 'none';
    pin.mode = 'input';
    pin.pull = pull;
    if (pull === 'up') pin.level = 1;
    if (pull === 'down') pin.level = 0;
    const activeLow = options.activeLow ?? false;
    const edge = options.edge ?? 'both';
    const listeners = new ListenerSet({ onError: (error) => this.logger?.error({ err: error, bcm }, 'gpio listener failed') });
    const debouncer = new EdgeDebouncer({
      edge,
      debounceMs: options.debounceMs ?? 0,
      initial: invert(pin.level, activeLow),
      onEdge: (value) => listeners.emit(value),
    });
    pin.onLevel = (level) => debouncer.push(invert(level, activeLow));
    pin.onRestore = (level) => debouncer.reset(invert(level, activeLow));
    let closed = false;
    const line: GpioLine = {
      bcm,
      read: async () => {
        this.checkUsable(bcm, closed, 'read');
        return invert(pin.level, activeLow);
      },
      write: async () => {
        this.checkUsable(bcm, closed, 'write');
        throw new HardwareIoError(lineName(bcm), 'write: line is an input', { code: 'EPERM' });
      },
      watch: (listener) => listeners.add(listener),
      close: async () => {
        if (closed) return;
        closed = true;
        debouncer.dispose();
        listeners.clear();
        pin.onLevel = undefined;
        pin.onRestore = undefined;
        pin.mode = 'unused';
        registry.delete(bcm);
      },
    };
    this.logger?.debug({ bcm, edge, activeLow, pull }, 'simulated input open');
    return line;
  }

  private createOutput(bcm: number, options: GpioOutputOptions): GpioLine {
    const registry = this.registry;
    const pin = this.pin(bcm);
    this.check(bcm, 'open');
    const activeLow = options.activeLow ?? false;
    const setLevel = (value: BitValue): void => {
      pin.level = invert(value, activeLow);
      pin.history.push({ at: Date.now(), level: pin.level, value });
    };
    // Like the real backends: a pin left driven by a previous run keeps its level (no relay click on restart).
    if (pin.mode !== 'output') {
      pin.mode = 'output';
      setLevel(options.initial ?? 0);
    }
    let closed = false;
    const line: GpioLine = {
      bcm,
      read: async () => {
        this.checkUsable(bcm, closed, 'read');
        return invert(pin.level, activeLow);
      },
      write: async (value) => {
        this.checkUsable(bcm, closed, 'write');
        setLevel(value);
      },
      watch: () => () => {},
      close: async () => {
        if (closed) return;
        closed = true;
        registry.delete(bcm);
      },
    };
    return line;
  }

  async close(): Promise<void> {
    const registry = this.registry;
    // A fresh registry lets the same chip be reopened, which is how tests model a gateway restart.
    this.registry = new LineRegistry(this.lineCount);
    await registry.closeAll();
  }

  drive(bcm: number, level: BitValue): void {
    const pin = this.pin(bcm);
    if (pin.mode === 'output') throw new Error(`${lineName(bcm)} is an output; drive() simulates an external signal on an input`);
    if (pin.level === level) return;
    pin.level = level;
    if (pin.present) pin.onLevel?.(level);
  }

  level(bcm: number): BitValue {
    return this.pin(bcm).level;
  }

  history(bcm: number): readonly OutputChange[] {
    return [...this.pin(bcm).history];
  }

  mode(bcm: number): 'unused' | 'input' | 'output' {
    return this.pin(bcm).mode;
  }

  injectFault(bcm: number, fault: SimulatedFault): void {
    this.pin(bcm).faults.push({ op: fault.op ?? 'any', code: fault.code, times: fault.times ?? 1 });
  }

  remove(bcm: number): void {
    this.pin(bcm).present = false;
  }

  restore(bcm: number): void {
    const pin = this.pin(bcm);
    if (pin.present) return;
    pin.present = true;
    pin.onRestore?.(pin.level);
  }

  isOpen(bcm: number): boolean {
    return this.registry.has(bcm);
  }

  private pin(bcm: number): PinState {
    if (!Number.isInteger(bcm) || bcm < 0 || bcm >= this.lineCount) {
      throw new DeviceNotPresentError(lineName(bcm), `no such line on the simulated chip (${this.lineCount} lines)`);
    }
    let pin = this.pins.get(bcm);
    if (!pin) {
      pin = { level: this.floatingLevel, mode: 'unused', pull: 'none', history: [], present: true, faults: [] };
      this.pins.set(bcm, pin);
    }
    return pin;
  }

  private checkUsable(bcm: number, closed: boolean, op: SimulatedOperation): void {
    if (closed) throw new HardwareIoError(lineName(bcm), `${op}: line is closed`);
    this.check(bcm, op);
  }

  private check(bcm: number, op: SimulatedOperation): void {
    const pin = this.pin(bcm);
    if (!pin.present) throw fromOsError(lineName(bcm), osError('ENODEV', 'No such device'), op);
    const index = pin.faults.findIndex((fault) => fault.op === 'any' || fault.op === op);
    if (index < 0) return;
    const fault = pin.faults[index]!;
    fault.times -= 1;
    if (fault.times <= 0) pin.faults.splice(index, 1);
    throw fromOsError(lineName(bcm), osError(fault.code, `simulated ${fault.code}`), op);
  }
}

function osError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}
