import { readFile } from 'node:fs/promises';
import { BackendUnavailableError, HardwareIoError } from '../errors.js';
import type { DhtModel, DhtReader, DhtSample } from '../types.js';
import { systemClock, type Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { DHT_MIN_INTERVAL_MS, MinIntervalGate } from './min-interval.js';

export interface NodeDhtModule {
  promises: {
    read(type: 11 | 22, pin: number): Promise<{ temperature: number; humidity: number }>;
    setMaxRetries?(retries: number): void;
  };
}

export interface NodeDhtReaderOptions {
  model: DhtModel;
  /** BCM GPIO number. */
  pin: number;
  minIntervalMs?: number;
  /**
   * node-dht-sensor hands back its last value, as a success, when asked again within this window (3 s in 0.4.x);
   * such a value is "no new sample".
   */
  libraryCacheMs?: number;
  /** The library's own retries per read (450 ms apart). */
  maxRetries?: number;
  /** For the rate limit and the library's cache window (default systemClock). */
  clock?: Clock;
  logger?: Logger;
  load?: () => Promise<NodeDhtModule>;
  /** Where the board model is read, to warn on a Pi 5. */
  boardModelPath?: string;
}

async function loadNodeDht(): Promise<NodeDhtModule> {
  const mod = await import('node-dht-sensor');
  return (mod.default as NodeDhtModule | undefined) ?? mod;
}

/**
 * DHT11 / DHT22 / AM2302 through the optional native `node-dht-sensor`. Its default build bit-bangs the pin through
 * the BCM2835's memory-mapped GPIO registers, which a Pi 5 does not have (its header GPIO is on the RP1). 0.4.5, the
 * newest release on npm, can instead be built against libgpiod (--use_libgpiod=true), but only the v1 API
 * (Bookworm); Trixie ships libgpiod 2, against which that build fails. Upstream's libgpiod 2 support is unreleased.
 */
export async function openNodeDhtReader(options: NodeDhtReaderOptions): Promise<NodeDhtReader> {
  const device = `dht-gpio${options.pin}`;
  let module: NodeDhtModule;
  try {
    module = await (options.load ?? loadNodeDht)();
  } catch (error) {
    throw new BackendUnavailableError(device, `the optional node-dht-sensor package is not usable (${(error as Error).message})`, { cause: error });
  }
  if (options.maxRetries !== undefined) module.promises.setMaxRetries?.(options.maxRetries);
  const logger = options.logger?.child({ module: 'dht', device });
  const board = await readFile(options.boardModelPath ?? '/proc/device-tree/model', 'utf8').catch(() => '');
  if (board.includes('Raspberry Pi 5')) {
    logger?.warn(`node-dht-sensor's default build cannot drive a Pi 5's GPIO; use the kernel's driver: dtoverlay=dht11,gpiopin=${options.pin} and backend: iio`);
  }
  return new NodeDhtReader(module, options, device, logger);
}

class NodeDhtReader implements DhtReader {
  private readonly gate: MinIntervalGate;
  private readonly clock: Clock;
  private lastFresh: { sample: DhtSample; at: number } | undefined;
  /** Set once the library has said it cannot initialise: that does not change until the build or board does. */
  private unusable: BackendUnavailableError | undefined;

  constructor(
    private readonly module: NodeDhtModule,
    private readonly options: NodeDhtReaderOptions,
    private readonly device: string,
    private readonly logger: Logger | undefined,
  ) {
    this.clock = options.clock ?? systemClock;
    this.gate = new MinIntervalGate(options.minIntervalMs ?? DHT_MIN_INTERVAL_MS, this.clock);
  }

  async read(): Promise<DhtSample | undefined> {
    if (this.unusable) throw this.unusable;
    if (!this.gate.tryAcquire()) return undefined;
    let sample: DhtSample;
    try {
      const { temperature, humidity } = await this.module.promises.read(this.options.model === 'dht11' ? 11 : 22, this.options.pin);
      sample = { temperature, humidity };
    } catch (error) {
      const message = (error as Error).message;
      if (/failed to initiali[sz]e/i.test(message)) throw this.giveUp(message, error);
      // The library only says "failed to read sensor": no answer, bad timing and bad checksum look alike.
      throw new HardwareIoError(this.device, `read failed: ${message}`, { cause: error });
    }
    const at = this.clock.now();
    const cacheMs = this.options.libraryCacheMs ?? 3000;
    const last = this.lastFresh;
    if (last && at - last.at < cacheMs && last.sample.temperature === sample.temperature && last.sample.humidity === sample.humidity) {
      return undefined;
    }
    this.lastFresh = { sample, at };
    return sample;
  }

  /**
   * The library could not set up its GPIO access (the default build on a board without BCM2835 registers, such as a
   * Pi 5, or no access to /dev/gpiomem). Retrying cannot help, so this is reported once and every later read fails
   * at once with the same error.
   */
  private giveUp(message: string, cause: unknown): BackendUnavailableError {
    this.unusable = new BackendUnavailableError(
      this.device,
      `node-dht-sensor: ${message}: it cannot access this board's GPIO (its default build needs BCM2835 registers, which a Pi 5 lacks); use the kernel's driver instead: dtoverlay=dht11,gpiopin=${this.options.pin} in /boot/firmware/config.txt and backend: iio`,
      { cause },
    );
    this.logger?.error({ err: this.unusable.message }, 'node-dht-sensor failed to initialize; this sensor is not read again until the gateway restarts');
    return this.unusable;
  }

  async close(): Promise<void> {}
}
