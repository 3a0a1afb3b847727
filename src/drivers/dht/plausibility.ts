import { ImplausibleReadingError } from '../errors.js';
import type { DhtModel, DhtSample } from '../types.js';

export interface PlausibilityOptions {
  /** A previous sample older than this is not compared against. */
  maxAgeMs?: number;
  /** Consecutive samples agreeing on a jump before it is believed (a real step change, or a new baseline). */
  confirmations?: number;
}

/** Datasheet ranges; DHT11 clones and the newer DHT11 reach below 0 °C, so allow -20..60. */
const TEMPERATURE_RANGE: Record<DhtModel, [number, number]> = { dht22: [-40, 80], dht11: [-20, 60] };

const isDoubled = (value: number, previous: number) => Math.abs(previous) >= 2 && Math.abs(value / previous - 2) < 0.1;

/**
 * Rejects what DHT sensors produce when the bit timing goes wrong but the checksum happens to pass: the 0.0 °C /
 * 0.0 % frame, humidity over 100 %, temperatures outside the datasheet range, and a value that suddenly doubles
 * (a one-bit shift of the whole frame).
 */
export class DhtPlausibilityFilter {
  private previous: { sample: DhtSample; at: number } | undefined;
  private suspect: { sample: DhtSample; count: number } | undefined;
  private readonly maxAgeMs: number;
  private readonly confirmations: number;

  constructor(
    private readonly model: DhtModel,
    private readonly device: string,
    options: PlausibilityOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.confirmations = options.confirmations ?? 3;
  }

  /** Returns the sample, or throws ImplausibleReadingError. */
  check(sample: DhtSample, now: number): DhtSample {
    const { temperature, humidity } = sample;
    if (temperature === 0 && humidity === 0) throw this.reject('0.0 °C / 0.0 % is the sensor failing, not the air');
    if (!Number.isFinite(temperature) || !Number.isFinite(humidity)) throw this.reject('non-numeric reading');
    if (humidity < 0 || humidity > 100) throw this.reject(`humidity ${humidity} % outside 0..100 %`);
    const [min, max] = TEMPERATURE_RANGE[this.model];
    if (temperature < min || temperature > max) throw this.reject(`temperature ${temperature} °C outside ${min}..${max} °C`);

    const previous = this.previous && now - this.previous.at <= this.maxAgeMs ? this.previous.sample : undefined;
    if (previous && (isDoubled(temperature, previous.temperature) || isDoubled(humidity, previous.humidity))) {
      const same = this.suspect && Math.abs(this.suspect.sample.temperature - temperature) < 1 && Math.abs(this.suspect.sample.humidity - humidity) < 3;
      this.suspect = { sample, count: same && this.suspect ? this.suspect.count + 1 : 1 };
      if (this.suspect.count < this.confirmations) {
        throw this.reject(`sudden doubling vs previous ${previous.temperature} °C / ${previous.humidity} %`);
      }
    }
    this.suspect = undefined;
    this.previous = { sample, at: now };
    return sample;
  }

  private reject(message: string): ImplausibleReadingError {
    return new ImplausibleReadingError(this.device, message);
  }
}
