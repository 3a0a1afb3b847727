import { join } from 'node:path';
import { DeviceNotPresentError, HardwareError, HardwareIoError, fromOsError } from '../errors.js';
import type { DhtReader, DhtSample } from '../types.js';
import { systemClock, type Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { nodeSysfsReader, type SysfsReader } from '../onewire/sysfs-reader.js';
import { DHT_MIN_INTERVAL_MS, MinIntervalGate } from './min-interval.js';

export interface IioDhtReaderOptions {
  /** `/sys` on a Pi; a temporary tree in tests. */
  sysfsRoot?: string;
  /** `iio:device0`; default: the index-th IIO device whose `name` is `dht11`. */
  device?: string;
  index?: number;
  /** Extra attempts after ETIMEDOUT / EIO (the kernel driver misses a frame now and then). */
  retries?: number;
  minIntervalMs?: number;
  /** For the rate limit (default systemClock). */
  clock?: Clock;
  fs?: SysfsReader;
  logger?: Logger;
}

/**
 * A DHT11/DHT22 through the kernel's dht11 IIO driver (`dtoverlay=dht11,gpiopin=N`, which also handles DHT22):
 * in_temp_input and in_humidityrelative_input in milli-units. The kernel does the bit timing, so this works on
 * every Pi model including the 5.
 */
export class IioDhtReader implements DhtReader {
  private readonly devicesDir: string;
  private readonly fs: SysfsReader;
  private readonly retries: number;
  private readonly gate: MinIntervalGate;
  private readonly logger: Logger | undefined;
  private deviceDir: string | undefined;

  constructor(private readonly options: IioDhtReaderOptions = {}) {
    this.devicesDir = join(options.sysfsRoot ?? '/sys', 'bus', 'iio', 'devices');
    this.fs = options.fs ?? nodeSysfsReader;
    this.retries = options.retries ?? 1;
    this.gate = new MinIntervalGate(options.minIntervalMs ?? DHT_MIN_INTERVAL_MS, options.clock ?? systemClock);
    this.logger = options.logger?.child({ module: 'dht-iio' });
  }

  /** Whether the dht11 overlay has created at least one IIO device (for backend `auto`). */
  static async available(options: Pick<IioDhtReaderOptions, 'sysfsRoot' | 'fs'> = {}): Promise<boolean> {
    try {
      await new IioDhtReader({ ...options, retries: 0 }).findDevice();
      return true;
    } catch {
      return false;
    }
  }

  get label(): string {
    return `iio:${this.options.device ?? `dht11#${this.options.index ?? 0}`}`;
  }

  async read(): Promise<DhtSample | undefined> {
    if (!this.gate.tryAcquire()) return undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.readOnce();
      } catch (error) {
        const transient = error instanceof HardwareError && (error.kind === 'timeout' || error.kind === 'io');
        if (!transient || attempt >= this.retries) throw error;
        this.logger?.debug({ err: error, attempt }, 'dht11 read failed, retrying');
      }
    }
  }

  async close(): Promise<void> {}

  private async readOnce(): Promise<DhtSample> {
    const dir = this.deviceDir ?? (await this.findDevice());
    try {
      // Reading the temperature makes the kernel fetch a frame; humidity then comes from the same frame.
      const temperature = await this.readMilli(join(dir, 'in_temp_input'));
      const humidity = await this.readMilli(join(dir, 'in_humidityrelative_input'));
      return { temperature, humidity };
    } catch (error) {
      // Re-resolve next time: the overlay may have been reloaded under another iio:deviceN.
      if (error instanceof DeviceNotPresentError && !this.options.device) this.deviceDir = undefined;
      throw error;
    }
  }

  private async readMilli(path: string): Promise<number> {
    let text: string;
    try {
      text = await this.fs.readFile(path);
    } catch (error) {
      throw fromOsError(this.label, error, `read ${path}`);
    }
    const value = Number(text.trim());
    if (text.trim() === '' || !Number.isFinite(value)) throw new HardwareIoError(this.label, `unparseable ${JSON.stringify(text.trim())} in ${path}`);
    return value / 1000;
  }

  private async findDevice(): Promise<string> {
    if (this.options.device) return (this.deviceDir = join(this.devicesDir, this.options.device));
    let entries: string[];
    try {
      entries = (await this.fs.readdir(this.devicesDir)).filter((e) => e.startsWith('iio:device'));
    } catch (error) {
      throw fromOsError(this.label, error, `list ${this.devicesDir}`);
    }
    entries.sort((a, b) => Number(a.slice(10)) - Number(b.slice(10)));
    const matches: string[] = [];
    for (const entry of entries) {
      const name = await this.fs.readFile(join(this.devicesDir, entry, 'name')).catch(() => '');
      if (name.trim() === 'dht11') matches.push(entry);
    }
    const entry = matches[this.options.index ?? 0];
    if (!entry) {
      throw new DeviceNotPresentError(this.label, `no IIO device named dht11 in ${this.devicesDir}; add dtoverlay=dht11,gpiopin=N to config.txt`);
    }
    return (this.deviceDir = join(this.devicesDir, entry));
  }
}
