/**
 * Time and timers, injected wherever code reads the time or waits (the sensor loop, timed commands, conversion waits
 * in drivers, the DHT rate limit, the emulators of mocks/), so tests can run it on a time line they control.
 */
export interface Clock {
  /** Epoch ms. */
  now(): number;
  /** Resolves after `ms` (a negative wait is none). */
  sleep(ms: number): Promise<void>;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Wall time and Node's timers, looked up at each call so vitest's fake timers apply to it too. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
