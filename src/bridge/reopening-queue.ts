import type { Logger } from '../util/logger.js';
import { Backoff } from './backoff.js';
import type { BridgeQueue } from './bridge.js';
import { QueueUnavailableError } from './queue/errors.js';
import type { QueueEntry, QueuedMessage } from './queue/types.js';

type QueueStatsOf = ReturnType<BridgeQueue['stats']>;

/** Why the queue cannot take messages right now, and since when (ms epoch). */
export interface QueueOutage {
  reason: string;
  since: number;
}

export interface ReopeningQueueOptions {
  open: () => Promise<BridgeQueue>;
  logger: Logger;
  /** Waits between reopen attempts, in seconds: first and cap. */
  retry?: [number, number];
  /** The queue is open again: the sender may start from it. */
  onReopened?: () => void;
  now?: () => number;
}

const DEFAULT_RETRY: [number, number] = [1, 30];

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A bridge queue that comes back by itself. Once a write or sync failed, the disk queue refuses every append (after a
 * failed fsync the kernel may have dropped the pages, so retrying the write would lie): this closes it and opens it
 * again from the files, whose recovery keeps every record that was durable, retrying with backoff while the disk is
 * full or failing. Meanwhile appends are refused (the bridge counts them as lost), and next() hands out nothing.
 * A full SD card then costs the messages of the outage, not the bridge, and not a restart loop of the service.
 */
export class ReopeningQueue implements BridgeQueue {
  private inner: BridgeQueue | undefined;
  private lastStats: QueueStatsOf | undefined;
  private outageState: QueueOutage | undefined;
  /**
   * From a failed write until an append succeeds again. A full disk lets the queue reopen at once and fails the next
   * append: within one episode every reopen after the first waits its turn of the backoff, and it is logged once.
   */
  private episode: { since: number; backoff: Backoff } | undefined;
  private reopening: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly log: Logger;
  private readonly now: () => number;

  private constructor(
    first: BridgeQueue,
    private readonly options: ReopeningQueueOptions,
  ) {
    this.inner = first;
    this.log = options.logger;
    this.now = options.now ?? Date.now;
  }

  static async open(options: ReopeningQueueOptions): Promise<ReopeningQueue> {
    return new ReopeningQueue(await options.open(), options);
  }

  /** Set while the queue is being reopened. */
  get outage(): QueueOutage | undefined {
    return this.outageState;
  }

  get acknowledgedThrough(): number {
    return this.inner?.acknowledgedThrough ?? 0;
  }

  async append(message: QueuedMessage, onWritten?: (seq: number) => void): Promise<number> {
    const inner = this.inner;
    if (inner === undefined) throw new QueueUnavailableError(this.outageState?.reason ?? 'closed');
    try {
      const seq = await inner.append(message, onWritten);
      this.episodeEnded();
      return seq;
    } catch (error) {
      if (inner.stats().writeFailure !== undefined) this.reopen(inner);
      throw error;
    }
  }

  next(max: number): Promise<QueueEntry[]> {
    return this.inner?.next(max) ?? Promise.resolve([]);
  }

  claimNext(seq: number): boolean {
    return this.inner?.claimNext(seq) ?? false;
  }

  claim(seq: number): boolean {
    return this.inner?.claim(seq) ?? false;
  }

  ack(seq: number): void {
    this.inner?.ack(seq);
  }

  rewind(): void {
    this.inner?.rewind();
  }

  stats(): QueueStatsOf {
    const inner = this.inner;
    if (inner !== undefined) this.lastStats = inner.stats();
    const last = this.lastStats ?? { depth: 0, bytes: 0, oldestAgeMs: undefined, appended: 0, acknowledged: 0, dropped: 0 };
    // While reopening, the last figures the queue gave, with why it cannot write.
    return inner !== undefined ? last : { ...last, writeFailure: this.outageState?.reason, writeInProgressMs: undefined };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.reopening;
    const inner = this.inner;
    this.inner = undefined;
    await inner?.close();
  }

  private reopen(broken: BridgeQueue): void {
    if (this.inner !== broken || this.closed) return;
    this.lastStats = broken.stats();
    this.inner = undefined;
    const reason = this.lastStats.writeFailure ?? 'write failed';
    this.outageState = { reason, since: this.now() };
    const first = this.episode === undefined;
    if (first) {
      this.episode = { since: this.now(), backoff: new Backoff(this.options.retry ?? DEFAULT_RETRY) };
      this.log.error({ reason }, 'bridge queue cannot write: reopening it; messages for the cloud are lost until it can');
    }
    this.reopening = this.reopenLoop(broken, first ? 0 : this.episode!.backoff.next()).finally(() => (this.reopening = undefined));
  }

  private episodeEnded(): void {
    const episode = this.episode;
    if (!episode) return;
    this.episode = undefined;
    this.log.info({ outageMs: this.now() - episode.since }, 'bridge queue writes again');
  }

  private async reopenLoop(broken: BridgeQueue, firstWaitMs: number): Promise<void> {
    await broken.close().catch((error: unknown) => this.log.warn({ err: describe(error) }, 'closing the failed bridge queue failed'));
    const backoff = this.episode?.backoff ?? new Backoff(this.options.retry ?? DEFAULT_RETRY);
    if (firstWaitMs > 0) await this.sleep(firstWaitMs);
    let attempts = 0;
    while (!this.closed) {
      attempts += 1;
      try {
        const queue = await this.options.open();
        if (this.closed) {
          await queue.close();
          return;
        }
        this.inner = queue;
        this.outageState = undefined;
        this.log.debug({ attempts }, 'bridge queue open again');
        this.options.onReopened?.();
        return;
      } catch (error) {
        if (this.outageState) this.outageState.reason = describe(error);
        if (attempts === 1) this.log.warn({ err: describe(error) }, 'bridge queue cannot be reopened yet; retrying');
      }
      await this.sleep(backoff.next());
    }
  }

  /** A wait that close() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.closed) return resolve();
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }
}
