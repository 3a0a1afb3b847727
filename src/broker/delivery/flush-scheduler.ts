/** Something with deliveries to write: the OutgoingWindow of a client. */
export interface Flushable {
  flush(): void;
}

/**
 * Runs the flushes of every client window that has something to send, once per event-loop turn, in the turn's check
 * phase (setImmediate).
 *
 * aedes acknowledges a QoS 1 PUBLISH and routes it from a setImmediate of its own, queued while the packet is read
 * (poll phase). A window scheduling its own setImmediate from there lands in the next turn, behind whatever I/O that
 * turn brings. `expectDeliveries()`, called by the packet reader after a QoS 1/2 PUBLISH, queues the flush during the
 * poll phase instead, after aedes' callbacks: the deliveries go out in the same turn, all windows still in one batch.
 */
export class FlushScheduler {
  private dirty = new Set<Flushable>();
  private queued = false;

  markDirty(window: Flushable): void {
    this.dirty.add(window);
    this.queue();
  }

  /** Bound: handed to every connection's packet reader. */
  readonly expectDeliveries = (): void => {
    this.queue();
  };

  private queue(): void {
    if (this.queued) return;
    this.queued = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.queued = false;
    if (this.dirty.size === 0) return;
    const windows = this.dirty;
    this.dirty = new Set();
    for (const window of windows) window.flush();
  };
}
