/** Entries kept in arrays before a SmallMap moves them into a Map: above mosquitto's default max_inflight_messages. */
export const LINEAR_LIMIT = 32;

/**
 * An insertion-ordered map for the collections of a connected client that are nearly always tiny and go from empty
 * to one entry and back with every message: its in-flight packet identifiers and its session's queue. V8 rebuilds a
 * Map's hash table when it empties and again when it fills (about 590 bytes allocated per set and delete of a single
 * entry with node 20, 120 for a Set), which made these the largest allocation per delivery in fan-out. Up to
 * LINEAR_LIMIT entries live in two arrays that keep their capacity; beyond that in a Map, until it empties.
 * Keys compare with ===.
 */
export class SmallMap<K, V> {
  private readonly keys: (K | undefined)[] = [];
  private readonly vals: (V | undefined)[] = [];
  private count = 0;
  private map: Map<K, V> | undefined;

  get size(): number {
    return this.map ? this.map.size : this.count;
  }

  get(key: K): V | undefined {
    if (this.map) return this.map.get(key);
    const index = this.indexOf(key);
    return index < 0 ? undefined : this.vals[index];
  }

  has(key: K): boolean {
    return this.map ? this.map.has(key) : this.indexOf(key) >= 0;
  }

  set(key: K, value: V): this {
    if (this.map) {
      this.map.set(key, value);
      return this;
    }
    const index = this.indexOf(key);
    if (index >= 0) {
      this.vals[index] = value;
      return this;
    }
    if (this.count === LINEAR_LIMIT) {
      const map = new Map<K, V>();
      for (let i = 0; i < this.count; i++) map.set(this.keys[i] as K, this.vals[i] as V);
      map.set(key, value);
      this.releaseSlots();
      this.map = map;
      return this;
    }
    this.keys[this.count] = key;
    this.vals[this.count] = value;
    this.count++;
    return this;
  }

  delete(key: K): boolean {
    if (this.map) {
      const deleted = this.map.delete(key);
      if (this.map.size === 0) this.map = undefined;
      return deleted;
    }
    const index = this.indexOf(key);
    if (index < 0) return false;
    const keys = this.keys;
    const vals = this.vals;
    for (let i = index + 1; i < this.count; i++) {
      keys[i - 1] = keys[i];
      vals[i - 1] = vals[i];
    }
    this.count--;
    keys[this.count] = undefined;
    vals[this.count] = undefined;
    return true;
  }

  clear(): void {
    this.map = undefined;
    this.releaseSlots();
  }

  /** The values in insertion order, as a new array. */
  valueList(): V[] {
    if (this.map) return [...this.map.values()];
    return this.vals.slice(0, this.count) as V[];
  }

  private indexOf(key: K): number {
    const keys = this.keys;
    for (let i = 0; i < this.count; i++) if (keys[i] === key) return i;
    return -1;
  }

  /** Empties the slots (so they hold nothing alive) but keeps the arrays' capacity. */
  private releaseSlots(): void {
    for (let i = 0; i < this.count; i++) {
      this.keys[i] = undefined;
      this.vals[i] = undefined;
    }
    this.count = 0;
  }
}
