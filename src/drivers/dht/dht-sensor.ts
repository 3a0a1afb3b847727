import type { DhtModel, DhtReader, Sensor, SensorChannel } from '../types.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { DhtPlausibilityFilter, type PlausibilityOptions } from './plausibility.js';
import { channelsOfKind } from '../channels.js';

export interface DhtSensorOptions extends PlausibilityOptions {
  model: DhtModel;
  /** For error messages: `dht-gpio4`. */
  device?: string;
  /** Times the samples, so a jump is judged only against a recent one (default systemClock). */
  clock?: Clock;
}

/** Any DhtReader (node-dht-sensor, IIO, simulated) as a Sensor, with the plausibility filter applied. */
export class DhtSensor implements Sensor {
  readonly kind: DhtModel;
  readonly channels: readonly SensorChannel[] = channelsOfKind('dht22');
  private readonly filter: DhtPlausibilityFilter;
  private readonly clock: Clock;

  constructor(
    private readonly reader: DhtReader,
    options: DhtSensorOptions,
  ) {
    this.kind = options.model;
    this.filter = new DhtPlausibilityFilter(options.model, options.device ?? options.model, options);
    this.clock = options.clock ?? systemClock;
  }

  async read(): Promise<Record<string, number> | undefined> {
    const sample = await this.reader.read();
    if (!sample) return undefined;
    const { temperature, humidity } = this.filter.check(sample, this.clock.now());
    return { temperature, humidity };
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}
