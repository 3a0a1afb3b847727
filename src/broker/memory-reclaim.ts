import type { Logger } from '../util/logger.js';

export interface ReclaimOptions {
  /** How often RSS is looked at. */
  intervalMs: number;
  /** Growth over the RSS after the last reclaim that is worth a full collection. */
  growthBytes: number;
  /** The full collection: V8's gc() when node runs with --expose-gc (the CLI's first line), else nothing. */
  collect?: () => void;
  rss?: () => number;
  now?: () => number;
}

/** The longest wait between two collections that did not bring RSS back down. */
const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * Gives memory back after a burst: an attack that was refused (oversized packets, half-sent packets past the
 * budget, floods of connections) still leaves every byte it made the broker read as garbage, in socket buffers V8
 * frees only at its next full collection. The CLI turns V8's memory reducer off (it stalled delivery at a steady
 * rate), and a broker gone quiet after an attack does not allocate enough to trigger one: RSS stayed 50 MB up for
 * good. So: every `intervalMs`, when RSS is `growthBytes` above the lowest it has been after a collection, run one
 * full collection. Memory in real use survives it; then, from the second such collection in a row, the wait before the
 * next try doubles (up to 5 minutes), so a broker that simply holds more (more clients, a backlog) costs one full
 * collection every few minutes at most.
 */
export class MemoryReclaimer {
  private floor: number;
  private waitMs: number;
  private nextAt = 0;
  /** Collections in a row that gave nothing back. */
  private misses = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly collect: (() => void) | undefined;
  private readonly rss: () => number;
  private readonly now: () => number;

  constructor(
    private readonly options: ReclaimOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'memory-reclaim' });
    this.collect = options.collect ?? (globalThis as { gc?: () => void }).gc;
    this.rss = options.rss ?? (() => process.memoryUsage.rss());
    this.now = options.now ?? Date.now;
    this.floor = this.rss();
    this.waitMs = options.intervalMs;
  }

  start(): void {
    if (!this.collect || this.timer) return;
    this.floor = this.rss();
    this.timer = setInterval(() => this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * A limit has just bitten (a connection refused or closed for what it sent): the memory it made the broker take is
   * garbage soon, so the next look may collect again whatever the backoff says. A broker that only holds more
   * memory hits no limit, and keeps its backoff.
   */
  nudge(): void {
    this.waitMs = this.options.intervalMs;
    this.misses = 0;
    this.nextAt = 0;
  }

  /** One look; public for tests. */
  check(): void {
    const before = this.rss();
    // Memory given back some other way: the floor follows it down.
    if (before < this.floor) this.floor = before;
    if (before - this.floor < this.options.growthBytes || this.now() < this.nextAt) return;
    this.collect!();
    const after = this.rss();
    if (after < this.floor) this.floor = after;
    const stillUp = after - this.floor >= this.options.growthBytes;
    // Closed sockets give their native memory back only once a collection has run their finalizers: the second
    // collection after an attack is often the one that frees it. Back off from the third miss in a row.
    this.misses = stillUp ? this.misses + 1 : 0;
    this.waitMs = this.misses >= 2 ? Math.min(this.waitMs * 2, MAX_BACKOFF_MS) : this.options.intervalMs;
    this.nextAt = this.now() + this.waitMs;
    this.log.debug({ before, after, floor: this.floor, nextInMs: this.waitMs }, 'full garbage collection after RSS grew');
  }
}
