import { Fifo } from '../fifo.js';

/** Something with deliveries to write: the OutgoingWindow of a client. */
export interface Flushable {
  flush(): void;
  /** Set while the FlushScheduler has it queued, so it is queued once a turn. */
  queuedForFlush?: boolean;
}

/**
 * Runs the flushes of every client window delivered to since the last run: at the end of the read that routed the
 * messages (MessageFlow holds the scheduler over each read and ends the hold with releaseNow), else in the turn's
 * check phase (setImmediate) for deliveries no read caused (retained replay, a slot freed in a window). A window
 * writes its first message after a flush at once and the rest at the next flush, which also lets the senders go on.
 * The queues keep their storage from run to run: a fan-out queues every subscriber's window, every message.
 */
export class FlushScheduler {
  private readonly dirty = new Fifo<Flushable>();
  private readonly after = new Fifo<Flushable>();
  private queued = false;
  /** hold() calls not yet released; while there are any, the flush is queued but not scheduled. */
  private holds = 0;
  private scheduleOnRelease = false;

  markDirty(window: Flushable): void {
    if (window.queuedForFlush) return;
    window.queuedForFlush = true;
    this.dirty.push(window);
    this.queue();
  }

  /**
   * Runs `task` once, after the next flush of the windows: a publisher's PUBACKs go out after the deliveries
   * of the messages they acknowledge, as mosquitto sends them. Written first, they woke the publisher, whose
   * process could then take the CPU from the broker before any subscriber had its message.
   */
  runAfterFlushes(task: Flushable): void {
    this.after.push(task);
    this.queue();
  }

  /**
   * Puts off scheduling the flush until release(): the MessageRouter holds it while it hands a message to its
   * subscribers. Scheduling is a setImmediate, which on a CPU back from idle took 10-30 µs: done at the first
   * subscriber's markDirty it delayed the writes to the other 49 of a fan-out.
   */
  hold(): void {
    this.holds++;
  }

  release(): void {
    if (--this.holds > 0 || !this.scheduleOnRelease) return;
    this.scheduleOnRelease = false;
    setImmediate(this.run);
  }

  /**
   * Ends a hold by running the flushes at once, in this call, when anything is queued: at the end of a read, what
   * it routed goes out before the next connection is read. Flushed once per turn instead, the messages of the
   * first reads of a busy turn waited for all the others: a stall of a few ms in the middle of a poll phase
   * (preemption on a VM) delayed every message read before it.
   */
  releaseNow(): void {
    if (--this.holds > 0) return;
    this.scheduleOnRelease = false;
    // Queued with a setImmediate already pending (from before the hold): that run will find nothing left.
    if (this.queued) this.run();
  }

  private queue(): void {
    if (this.queued) return;
    this.queued = true;
    if (this.holds > 0) this.scheduleOnRelease = true;
    else setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.queued = false;
    // What is queued while this runs waits for the next turn.
    for (let count = this.dirty.size; count > 0; count--) {
      const window = this.dirty.shift()!;
      window.queuedForFlush = false;
      window.flush();
    }
    for (let count = this.after.size; count > 0; count--) this.after.shift()!.flush();
  };
}
