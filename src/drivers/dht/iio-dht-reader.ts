import { join } from 'node:path';
import { DeviceNotPresentError, HardwareError, HardwareIoError, fromOsError } from '../errors.js';
import type { DhtReader, DhtSample } from '../types.js';
import { systemClock, type Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { nodeSysfsReader, type SysfsReader } from '../onewire/sysfs-reader.js';
import { DHT_MIN_INTERVAL_MS } from './min-interval.js';

export interface IioDhtReaderOptions {
  /** `/sys` on a Pi; a temporary tree in tests. */
  sysfsRoot?: string;
  /** `iio:device0`; default: the index-th IIO device whose `name` is `dht11`. */
  device?: string;
  index?: number;
  /** Extra attempts after ETIMEDOUT / EIO (the kernel driver misses a frame now and then), each 2 s after the last. */
  retries?: number;
  /** Least time from the end of one read to the start of the next (and so between two start pulses). */
  minIntervalMs?: number;
  /** For the rate limit (default systemClock). */
  clock?: Clock;
  fs?: SysfsReader;
  logger?: Logger;
}

/** drivers/iio/humidity/dht11.c hands back its last decoded frame, without asking the sensor, for this long. */
const KERNEL_FRAME_CACHE_MS = 2000;

/**
 * A DHT11/DHT22 through the kernel's dht11 IIO driver (`dtoverlay=dht11,gpiopin=N`, which also handles DHT22):
 * in_temp_input and in_humidityrelative_input in milli-units. The kernel does the bit timing, so this works on
 * every Pi model including the 5.
 *
 * Timing follows the kernel driver: every read that finds no cached frame sends a start pulse, also right after a
 * failed one (only a decoded frame is cached), and a DHT does not answer a pulse that comes within ~2 s of the last.
 * So reads, retries included, start at least `minIntervalMs` after the previous read ended. The kernel stamps its
 * frame when it has decoded it, some time after the read began; the spacing is therefore measured from the end.
 */
export class IioDhtReader implements DhtReader {
  private readonly devicesDir: string;
  private readonly fs: SysfsReader;
  private readonly retries: number;
  private readonly minIntervalMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private deviceDir: string | undefined;
  /** When the last read (successful or not) ended: a start pulse may have gone out before then. */
  private lastEnd: number | undefined;
  private lastFresh: { sample: DhtSample; end: number } | undefined;

  constructor(private readonly options: IioDhtReaderOptions = {}) {
    this.devicesDir = join(options.sysfsRoot ?? '/sys', 'bus', 'iio', 'devices');
    this.fs = options.fs ?? nodeSysfsReader;
    this.retries = options.retries ?? 1;
    this.minIntervalMs = options.minIntervalMs ?? DHT_MIN_INTERVAL_MS;
    this.clock = options.clock ?? systemClock;
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
    if (this.lastEnd !== undefined && this.clock.now() - this.lastEnd < this.minIntervalMs) return undefined;
    for (let attempt = 0; ; attempt++) {
      const start = this.clock.now();
      let sample: DhtSample;
      try {
        sample = await this.readOnce();
      } catch (error) {
        this.lastEnd = this.clock.now();
        const transient = error instanceof HardwareError && (error.kind === 'timeout' || error.kind === 'io');
        if (!transient || attempt >= this.retries) throw error;
        this.logger?.debug({ err: error, attempt }, 'dht11 read failed, retrying after the sensor\'s rest period');
        await this.clock.sleep(this.lastEnd + this.minIntervalMs - this.clock.now());
        continue;
      }
      this.lastEnd = this.clock.now();
      return this.fresh(sample, start);
    }
  }

  /**
   * undefined for the kernel's cached copy of the previous frame: the same values, read while that frame (stamped
   * no later than the end of our previous read) was still within the kernel's 2 s. Only reachable with a
   * `minIntervalMs` below 2 s, or when something else read the device in between.
   */
  private fresh(sample: DhtSample, start: number): DhtSample | undefined {
    const last = this.lastFresh;
    if (last && start - last.end < KERNEL_FRAME_CACHE_MS && last.sample.temperature === sample.temperature && last.sample.humidity === sample.humidity) {
      return undefined;
    }
    this.lastFresh = { sample, end: this.lastEnd! };
    return sample;
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
