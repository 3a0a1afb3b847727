/** A point of a plot: epoch ms and value. */
export type Point = [number, number];

/**
 * The recent past of one value, bounded in count whatever the publish rate: one point per time bucket (the latest
 * value in the bucket wins) in a ring of `capacity` buckets, so `capacity × bucketMs` of history at most.
 */
export class BucketedSeries {
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  private start = 0;
  private length = 0;

  constructor(
    readonly capacity: number,
    readonly bucketMs: number,
  ) {
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  /** Adds a point, or replaces the last one when it falls in the same bucket. Returns the point as kept. */
  add(at: number, value: number): Point {
    if (this.length > 0) {
      const last = (this.start + this.length - 1) % this.capacity;
      if (Math.floor(this.times[last]! / this.bucketMs) === Math.floor(at / this.bucketMs)) {
        this.times[last] = at;
        this.values[last] = value;
        return [at, value];
      }
    }
    const slot = (this.start + this.length) % this.capacity;
    this.times[slot] = at;
    this.values[slot] = value;
    if (this.length < this.capacity) this.length++;
    else this.start = (this.start + 1) % this.capacity;
    return [at, value];
  }

  /** The points from `since` (epoch ms) on, oldest first. */
  points(since = -Infinity): Point[] {
    const out: Point[] = [];
    for (let i = 0; i < this.length; i++) {
      const slot = (this.start + i) % this.capacity;
      if (this.times[slot]! >= since) out.push([this.times[slot]!, this.values[slot]!]);
    }
    return out;
  }

  get size(): number {
    return this.length;
  }
}
