/** A connection's reader as the budget sees it: the bytes of its incomplete packet, and how to make it let go. */
export interface PendingHolder {
  readonly pendingBytes: number;
  /** Drops what it holds and closes its connection: the budget is spent. */
  evict(): void;
}

/**
 * The bytes buffered for incomplete packets, summed over every connection, and their ceiling. Each connection is
 * already limited to one packet of at most message_size_limit (plus the protocol's fields); this bounds how many such
 * packets may be half-received at once, which is what a few hundred sockets each streaming a large packet slowly would
 * otherwise turn into hundreds of megabytes. Past the ceiling the connection holding the most is closed (and then the
 * next, until the total fits): a slow sender of one large packet is the one costing the most, and a device sending its
 * small packets whole is never the one cut.
 */
export class PendingBudget {
  private total = 0;
  private readonly holders = new Set<PendingHolder>();

  constructor(
    /** Bytes; 0: no ceiling. */
    readonly limit: number,
  ) {}

  get bytes(): number {
    return this.total;
  }

  /** `holder` now holds `after` bytes where it held `before`. */
  changed(holder: PendingHolder, before: number, after: number): void {
    this.total += after - before;
    if (after > 0) this.holders.add(holder);
    else this.holders.delete(holder);
    if (this.limit <= 0) return;
    while (this.total > this.limit && this.holders.size > 0) this.largest().evict();
  }

  private largest(): PendingHolder {
    let found: PendingHolder | undefined;
    for (const holder of this.holders) if (!found || holder.pendingBytes > found.pendingBytes) found = holder;
    return found!;
  }
}
