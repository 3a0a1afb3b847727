/** Something with deliveries to write: the OutgoingWindow of a client. */
export interface Flushable {
  flush(): void;
}

/**
 * Runs the flushes of every client window that was delivered to in this event-loop turn, in the turn's check phase
 * (setImmediate). Messages are routed while their PUBLISH is read (MessageFlow), in the poll phase; a window writes the
 * turn's first message at once and the rest at its flush, which also lets the senders go on.
 */
export class FlushScheduler {
  private dirty = new Set<Flushable>();
  private after: Flushable[] = [];
  private queued = false;

  markDirty(window: Flushable): void {
    this.dirty.add(window);
    this.queue();
  }

  /**
   * Runs `task` once, after the windows of this turn have flushed: a publisher's PUBACKs go out after the deliveries
   * of the messages they acknowledge, as mosquitto sends them. Written first, they woke the publisher, whose
   * process could then take the CPU from the broker before any subscriber had its message.
   */
  runAfterFlushes(task: Flushable): void {
    this.after.push(task);
    this.queue();
  }

  private queue(): void {
    if (this.queued) return;
    this.queued = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.queued = false;
    const windows = this.dirty;
    this.dirty = new Set();
    for (const window of windows) window.flush();
    const after = this.after;
    this.after = [];
    for (const task of after) task.flush();
  };
}
