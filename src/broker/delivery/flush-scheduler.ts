/** Something with deliveries to write: the OutgoingWindow of a client. */
export interface Flushable {
  flush(): void;
}

/**
 * Runs the flushes of every client window that has something to send, once per event-loop turn, in the turn's check
 * phase (setImmediate). Messages are routed while their PUBLISH is read (MessageFlow), in the poll phase, so their
 * deliveries go out in the same turn, all windows in one batch.
 */
export class FlushScheduler {
  private dirty = new Set<Flushable>();
  private queued = false;

  markDirty(window: Flushable): void {
    this.dirty.add(window);
    if (this.queued) return;
    this.queued = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.queued = false;
    const windows = this.dirty;
    this.dirty = new Set();
    for (const window of windows) window.flush();
  };
}
