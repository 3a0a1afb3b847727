import { Random } from './random.js';
import { DaylightSignal, DriftingSignal, type Signal } from './signal.js';

/** The air around the simulated sensors, so that several chips in one "room" roughly agree. */
export interface SimulatedRoom {
  temperature: Signal;
  humidity: Signal;
  /** hPa */
  pressure: Signal;
  illuminance: Signal;
}

export function createRoom(seed = 1): SimulatedRoom {
  const random = new Random(seed);
  return {
    temperature: new DriftingSignal({ mean: 21.5, dailyAmplitude: 1.5, peakHour: 16, wander: 0.4, min: -40, max: 85, random: random.fork() }),
    humidity: new DriftingSignal({ mean: 45, dailyAmplitude: 5, peakHour: 5, wander: 2, min: 0, max: 100, random: random.fork() }),
    pressure: new DriftingSignal({ mean: 1013, wander: 4, wanderTimeConstantMs: 6 * 3_600_000, min: 950, max: 1060, random: random.fork() }),
    illuminance: new DaylightSignal(600, random.fork()),
  };
}
