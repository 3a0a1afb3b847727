/** Latencies in ms; keeps up to `capacity` samples (reservoir sampling beyond that). */
export class LatencyRecorder {
  private readonly samples: Float64Array;
  private count = 0;
  private seen = 0;

  constructor(private readonly capacity = 1 << 21) {
    this.samples = new Float64Array(capacity);
  }

  add(ms: number): void {
    this.seen++;
    if (this.count < this.capacity) {
      this.samples[this.count++] = ms;
      return;
    }
    const slot = Math.floor(Math.random() * this.seen);
    if (slot < this.capacity) this.samples[slot] = ms;
  }

  percentile(p: number): number | undefined {
    if (this.count === 0) return undefined;
    const sorted = this.samples.slice(0, this.count).sort();
    return sorted[Math.min(this.count - 1, Math.floor((p / 100) * this.count))];
  }
}

/** The sequence numbers received from one publisher: a growable bitmap plus the highest seen. */
export class SeqSet {
  private bits = new Uint8Array(1024);
  private highest = -1;

  add(seq: number): 'new' | 'duplicate' | 'reordered' {
    const byte = seq >> 3;
    if (byte >= this.bits.length) {
      const bigger = new Uint8Array(Math.max(this.bits.length * 2, byte + 1));
      bigger.set(this.bits);
      this.bits = bigger;
    }
    const mask = 1 << (seq & 7);
    if (this.bits[byte]! & mask) return 'duplicate';
    this.bits[byte]! |= mask;
    if (seq < this.highest) return 'reordered';
    this.highest = seq;
    return 'new';
  }
}
