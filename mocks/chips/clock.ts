/** Time source shared by a driver (sleep) and an emulator (now), so conversion delays can be simulated instantly. */
export interface SimClock {
  /** Milliseconds; only differences matter, except for the daily cycle of drifting signals (epoch ms). */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: SimClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** A clock that only moves when told: sleep(ms) advances it and resolves at once. */
export class ManualClock implements SimClock {
  private time: number;

  constructor(start = Date.UTC(2025, 5, 1, 12, 0, 0)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  advance(ms: number): void {
    this.time += ms;
  }

  readonly sleep = async (ms: number): Promise<void> => {
    this.advance(Math.max(0, ms));
  };
}
