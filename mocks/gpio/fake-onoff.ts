import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { OnoffCallback, OnoffDirection, OnoffGpio, OnoffGpioClass, OnoffModule, OnoffOptions } from '../../src/drivers/gpio/onoff-loader.js';
import type { BitValue, Edge } from '../../src/drivers/types.js';

export interface FakeOnoffCall {
  gpio: number;
  direction: OnoffDirection;
  edge: Edge | undefined;
  options: OnoffOptions | undefined;
}

export interface FakeOnoff extends OnoffModule {
  /** Every `new Gpio(...)`, in order. */
  readonly constructed: FakeOnoffCall[];
  /** Play the kernel: set the pin's electrical level and fire onoff's watchers as an interrupt would. */
  interrupt(sysfsNumber: number, level: BitValue): void;
  /** Electrical level of an exported pin. */
  level(sysfsNumber: number): BitValue;
  /** Make the next `new Gpio(n, ...)` throw like a failed sysfs write (`EINVAL`, `EBUSY`, `EACCES`). */
  failNextConstruct(code: string): void;
}

/**
 * A stand-in for onoff's Gpio class that works on a temporary sysfs tree (mocks/sysfs/gpio-tree.ts) instead of the
 * hard-coded /sys/class/gpio, and plays the kernel's part: export creates `gpioN/`, writing `out`/`low` to
 * `direction` drives the pin low and `high` drives it high (raw levels), `value` shows the level through
 * `active_low`. Its configure logic follows onoff 6's (activeLow first, then direction unless reconfigureDirection
 * is false and the direction already matches, then edge for inputs).
 */
export function createFakeOnoff(sysfsRoot: string): FakeOnoff {
  const classDir = join(sysfsRoot, 'class', 'gpio');
  const constructed: FakeOnoffCall[] = [];
  const watchers = new Map<number, Set<OnoffCallback>>();
  const pendingFailures: string[] = [];
  const file = (n: number, name: string): string => join(classDir, `gpio${n}`, name);
  const read = (n: number, name: string): string => readFileSync(file(n, name), 'utf8').trim();
  const activeLow = (n: number): boolean => read(n, 'active_low') === '1';
  const rawLevel = (n: number): BitValue => ((read(n, 'value') === '1') !== activeLow(n) ? 1 : 0);
  const setRaw = (n: number, raw: BitValue): void => writeFileSync(file(n, 'value'), `${activeLow(n) ? 1 - raw : raw}\n`);

  class FakeGpio implements OnoffGpio {
    private readonly n: number;
    private risingEnabled = false;
    private fallingEnabled = false;

    constructor(gpio: number, direction: OnoffDirection, edge?: Edge, options?: OnoffOptions) {
      constructed.push({ gpio, direction, edge, options });
      const failure = pendingFailures.shift();
      if (failure) throw Object.assign(new Error(`${failure}: simulated sysfs failure, write`), { code: failure });
      this.n = gpio;
      if (!existsSync(join(classDir, `gpio${gpio}`))) {
        writeFileSync(join(classDir, 'export'), String(gpio));
        mkdirSync(join(classDir, `gpio${gpio}`));
        writeFileSync(file(gpio, 'direction'), 'in\n');
        writeFileSync(file(gpio, 'value'), '0\n');
        writeFileSync(file(gpio, 'active_low'), '0\n');
        writeFileSync(file(gpio, 'edge'), 'none\n');
      }
      if (typeof options?.activeLow === 'boolean') {
        const raw = rawLevel(gpio);
        writeFileSync(file(gpio, 'active_low'), options.activeLow ? '1\n' : '0\n');
        setRaw(gpio, raw);
      }
      const requested = direction === 'high' || direction === 'low' ? 'out' : direction;
      if (options?.reconfigureDirection !== false || read(gpio, 'direction') !== requested) {
        writeFileSync(file(gpio, 'direction'), `${requested}\n`);
        if (requested === 'out') setRaw(gpio, direction === 'high' ? 1 : 0);
      }
      if (edge && direction === 'in') {
        writeFileSync(file(gpio, 'edge'), `${edge}\n`);
        this.risingEnabled = edge === 'both' || edge === 'rising';
        this.fallingEnabled = edge === 'both' || edge === 'falling';
      }
    }

    static get accessible(): boolean {
      try {
        closeSync(openSync(join(classDir, 'export'), constants.O_WRONLY));
        return true;
      } catch {
        return false;
      }
    }

    readSync(): BitValue {
      return read(this.n, 'value') === '1' ? 1 : 0;
    }

    async read(): Promise<BitValue> {
      return this.readSync();
    }

    async write(value: BitValue): Promise<void> {
      if (read(this.n, 'direction') !== 'out') throw Object.assign(new Error('EPERM: operation not permitted, write'), { code: 'EPERM' });
      writeFileSync(file(this.n, 'value'), `${value}\n`);
    }

    watch(callback: OnoffCallback): void {
      const set = watchers.get(this.n) ?? new Set();
      set.add(callback);
      watchers.set(this.n, set);
    }

    unwatch(callback?: OnoffCallback): void {
      if (callback) watchers.get(this.n)?.delete(callback);
      else watchers.delete(this.n);
    }

    unwatchAll(): void {
      this.unwatch();
    }

    unexport(): void {
      this.unwatchAll();
      writeFileSync(join(classDir, 'unexport'), String(this.n));
      rmSync(join(classDir, `gpio${this.n}`), { recursive: true, force: true });
    }

    /** What onoff's poller does on an interrupt: read the value, notify if the edge is enabled. */
    fire(): void {
      const value = this.readSync();
      if ((value === 1 && this.risingEnabled) || (value === 0 && this.fallingEnabled)) {
        for (const callback of [...(watchers.get(this.n) ?? [])]) callback(null, value);
      }
    }
  }

  const instances = new Map<number, FakeGpio>();
  const Gpio = new Proxy(FakeGpio, {
    construct(target, args: ConstructorParameters<typeof FakeGpio>) {
      const instance = new target(...args);
      instances.set(args[0], instance);
      return instance;
    },
  }) as unknown as OnoffGpioClass;

  return {
    Gpio,
    constructed,
    interrupt(n, level) {
      setRaw(n, level);
      instances.get(n)?.fire();
    },
    level: (n) => rawLevel(n),
    failNextConstruct(code) {
      pendingFailures.push(code);
    },
  };
}
