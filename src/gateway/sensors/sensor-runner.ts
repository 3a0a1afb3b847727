import type { Sensor } from '../../drivers/types.js';
import { HardwareError } from '../../drivers/errors.js';
import type { Logger } from '../../util/logger.js';
import type { Clock } from '../clock.js';
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
}

export interface SensorCounters {
  reads: number;
  errors: number;
  consecutiveFailures: number;
  online: boolean | undefined;
  lastError?: string;
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
    for (let attempt = 0; attempt <= retries && this.running; attempt++) {
      if (attempt > 0) await this.sleep(RETRY_BASE_MS * 2 ** (attempt - 1));
      try {
        const sensor = await this.openSensor();
        const reading = await sensor.read();
        this.counters.reads++;
        this.succeeded();
        if (reading) this.publish(this.options.filters.push(reading, clock.now()));
        return;
      } catch (error) {
        this.counters.errors++;
        lastError = error;
        this.log.debug({ err: describe(error), attempt }, 'read failed');
        if (error instanceof HardwareError && error.kind === 'not-present') await this.closeSensor();
      }
    }
    if (lastError !== undefined) this.failed(lastError);
  }

  private publish(filtered: { state: Record<string, number> } | undefined): void {
    if (filtered) this.options.onState(filtered.state, this.options.clock.now());
    this.scheduleTick();
  }

  /** Heartbeat filters publish on their own clock, between reads. */
  private scheduleTick(): void {
    this.options.clock.clearTimeout(this.tickTimer);
    const at = this.options.filters.nextTickAt();
    if (at === undefined || !this.running) return;
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

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.options.clock.setTimeout(resolve, ms));
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
