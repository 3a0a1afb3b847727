import type { Sensor } from '../../drivers/types.js';
import { HardwareError } from '../../drivers/errors.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { DeviceFilters } from '../filters/device-filters.js';

export interface SensorRunnerOptions {
  name: string;
  /** Opens the sensor; called again after a failure that closed it (device unplugged). */
  open: () => Promise<Sensor>;
  intervalMs: number;
  retries: number;
  offlineAfter: number;
  filters: DeviceFilters;
  clock: Clock;
  logger: Logger;
  /** A filtered state to publish. */
  onState: (state: Record<string, number>, at: number) => void;
  onAvailability: (online: boolean, reason?: string) => void;
  /** How long each read of the device took, failed ones included, in seconds (metrics). */
  onReadDuration?: (seconds: number) => void;
}

export interface SensorCounters {
  reads: number;
  errors: number;
  consecutiveFailures: number;
  online: boolean | undefined;
  lastError?: string;
  /** Epoch ms (the runner's clock) of the last good read, published or held back by a filter. */
  lastGoodReadAt?: number;
}

const RETRY_BASE_MS = 200;

/**
 * Reads one sensor on its own interval, never overlapping itself: retries within the interval with backoff, marks
 * the sensor offline after `offlineAfter` failed reads in a row and online again on the next good one, and feeds
 * readings through the filters. Failures stay here: they never stop other sensors or the process.
 */
export class SensorRunner {
  readonly counters: SensorCounters = { reads: 0, errors: 0, consecutiveFailures: 0, online: undefined };
  private sensor: Sensor | undefined;
  private readTimer: unknown;
  private tickTimer: unknown;
  private running = false;
  private cycle: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | undefined;
  private readonly log: Logger;

  constructor(private readonly options: SensorRunnerOptions) {
    this.log = options.logger.child({ sensor: options.name });
  }

  /** Starts reading; the first read happens after `delayMs` (to spread sensors over time). */
  start(delayMs = 0): void {
    this.running = true;
    this.schedule(delayMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.options.clock.clearTimeout(this.readTimer);
    this.options.clock.clearTimeout(this.tickTimer);
    this.wakeUp?.();
    await this.cycle;
    await this.closeSensor();
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.readTimer = this.options.clock.setTimeout(() => {
      const started = this.options.clock.now();
      this.cycle = this.readCycle().finally(() => {
        const elapsed = this.options.clock.now() - started;
        this.schedule(Math.max(0, this.options.intervalMs - elapsed));
      });
    }, delayMs);
  }

  private async readCycle(): Promise<void> {
    const { retries, clock } = this.options;
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await this.sleep(RETRY_BASE_MS * 2 ** (attempt - 1));
      if (!this.running) return;
      let reading: Record<string, number> | undefined;
      try {
        const sensor = await this.openSensor();
        reading = await this.timedRead(sensor);
      } catch (error) {
        this.counters.errors++;
        lastError = error;
        this.log.debug({ err: describe(error), attempt }, 'read failed');
        if (error instanceof HardwareError && error.kind === 'not-present') await this.closeSensor();
        continue;
      }
      this.counters.reads++;
      // `undefined`: no new sample yet (a DHT read too soon). Neither a failure nor proof that the device is back.
      if (reading) {
        this.succeeded();
        this.counters.lastGoodReadAt = clock.now();
        this.publish(this.options.filters.push(reading, clock.now()));
      }
      return;
    }
    if (lastError !== undefined && this.running) this.failed(lastError);
  }

  /** Wall time on the monotonic clock, not the injected one: it measures the device, not the schedule. */
  private async timedRead(sensor: Sensor): Promise<Record<string, number> | undefined> {
    const started = performance.now();
    try {
      return await sensor.read();
    } finally {
      this.options.onReadDuration?.((performance.now() - started) / 1000);
    }
  }

  private publish(filtered: { state: Record<string, number> } | undefined): void {
    if (filtered) this.options.onState(filtered.state, this.options.clock.now());
    this.scheduleTick();
  }

  /** Heartbeat filters publish on their own clock, between reads. */
  private scheduleTick(): void {
    this.options.clock.clearTimeout(this.tickTimer);
    const at = this.options.filters.nextTickAt();
    // No heartbeat of an offline sensor: it would republish a stale value as fresh and defeat expire_after.
    if (at === undefined || !this.running || this.counters.online === false) return;
    this.tickTimer = this.options.clock.setTimeout(
      () => this.publish(this.options.filters.tick(this.options.clock.now())),
      Math.max(0, at - this.options.clock.now()),
    );
  }

  private succeeded(): void {
    this.counters.consecutiveFailures = 0;
    if (this.counters.online !== true) {
      if (this.counters.online === false) this.log.info('sensor back online');
      this.counters.online = true;
      this.options.onAvailability(true);
    }
  }

  private failed(error: unknown): void {
    const reason = describe(error);
    this.counters.consecutiveFailures++;
    this.counters.lastError = reason;
    if (this.counters.consecutiveFailures >= this.options.offlineAfter && this.counters.online !== false) {
      this.counters.online = false;
      this.options.clock.clearTimeout(this.tickTimer);
      this.log.warn({ err: reason, failures: this.counters.consecutiveFailures }, 'sensor offline');
      this.options.onAvailability(false, reason);
    } else {
      this.log.warn({ err: reason, failures: this.counters.consecutiveFailures }, 'sensor read failed');
    }
  }

  private async openSensor(): Promise<Sensor> {
    this.sensor ??= await this.options.open();
    return this.sensor;
  }

  private async closeSensor(): Promise<void> {
    const sensor = this.sensor;
    this.sensor = undefined;
    await sensor?.close().catch(() => undefined);
  }

  /** A retry backoff; stop() cuts it short, so a long backoff never delays a shutdown. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.options.clock.setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        this.options.clock.clearTimeout(handle);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
