import { Random } from './random.js';

/** A physical quantity over time. */
export interface Signal {
  at(timeMs: number): number;
}

const constant = (value: number): Signal => ({ at: () => value });

export type SignalInput = number | Signal;
export const toSignal = (input: SignalInput): Signal => (typeof input === 'number' ? constant(input) : input);

export interface DriftOptions {
  mean: number;
  /** Amplitude of a 24 h sine (UTC hour of peak below). */
  dailyAmplitude?: number;
  peakHour?: number;
  /** Standard deviation of the slow random wander around the daily curve. */
  wander?: number;
  /** How quickly the wander forgets, in ms (Ornstein-Uhlenbeck time constant). */
  wanderTimeConstantMs?: number;
  min?: number;
  max?: number;
  random?: Random;
}

const DAY_MS = 86_400_000;

/**
 * A value that looks alive: daily sine plus a mean-reverting random walk, clamped. Deterministic for a given seed
 * and sequence of sample times; time running backwards reuses the last state.
 */
export class DriftingSignal implements Signal {
  private offset = 0;
  private lastTime: number | undefined;
  private readonly random: Random;

  constructor(private readonly options: DriftOptions) {
    this.random = options.random ?? new Random();
  }

  at(timeMs: number): number {
    const { mean, dailyAmplitude = 0, peakHour = 15, wander = 0, wanderTimeConstantMs = 30 * 60_000 } = this.options;
    if (wander > 0) {
      if (this.lastTime === undefined) {
        this.offset = this.random.gaussian() * wander * 0.5;
      } else if (timeMs > this.lastTime) {
        const decay = Math.exp(-(timeMs - this.lastTime) / wanderTimeConstantMs);
        this.offset = this.offset * decay + wander * Math.sqrt(1 - decay * decay) * this.random.gaussian();
      }
    }
    this.lastTime = Math.max(this.lastTime ?? timeMs, timeMs);
    const phase = ((timeMs - peakHour * 3_600_000) / DAY_MS) * 2 * Math.PI;
    const value = mean + dailyAmplitude * Math.cos(phase) + this.offset;
    return Math.min(this.options.max ?? Infinity, Math.max(this.options.min ?? -Infinity, value));
  }
}

/** Daylight through a window: zero at night, a bright midday, a little cloud flicker; plus a lamp in the evening. */
export class DaylightSignal implements Signal {
  constructor(
    private readonly peakLux = 600,
    private readonly random = new Random(),
  ) {}

  at(timeMs: number): number {
    const hour = (((timeMs % DAY_MS) + DAY_MS) % DAY_MS) / 3_600_000;
    const sun = Math.max(0, Math.sin(((hour - 6) / 12) * Math.PI));
    const lamp = hour >= 18 && hour < 23 ? 150 : 0;
    const clouds = 1 - 0.15 * this.random.next();
    // Street light through the window: a night reading of exactly 0 would look like a dead sensor in a demo.
    const night = 2 + this.random.next();
    return Math.max(0, this.peakLux * sun * clouds + lamp + night);
  }
}
