import type { Clock } from '../../src/util/clock.js';

/**
 * A clock that only moves when told, shared by a driver and the emulator it talks to: sleep(ms) advances it and
 * resolves at once, so conversion delays cost no real time. Its timers run on the same time line, from advance(), so
 * nothing it schedules fires behind a test's back or outlives it.
 */
export class ManualClock implements Clock {
  protected time: number;
  private timers: { id: number; at: number; callback: () => void }[] = [];
  private nextId = 1;

  /** `start` in epoch ms: drifting signals follow the time of day; elsewhere only differences matter. */
  constructor(start = Date.UTC(2025, 5, 1, 12, 0, 0)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** Moves time on by `ms`, running the timers that fall due on the way, in order, each at its own due time. */
  advance(ms: number): void {
    const end = this.time + ms;
    while (this.runNextDue(end));
    this.time = end;
  }

  /** Runs the earliest timer due by `end`, with the time set to its due time; false when none is due. */
  protected runNextDue(end: number): boolean {
    const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
    if (!next) return false;
    this.timers = this.timers.filter((t) => t !== next);
    this.time = next.at;
    next.callback();
    return true;
  }

  async sleep(ms: number): Promise<void> {
    this.advance(Math.max(0, ms));
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ id, at: this.time + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Timers not yet run nor cleared. */
  get pending(): number {
    return this.timers.length;
  }
}
