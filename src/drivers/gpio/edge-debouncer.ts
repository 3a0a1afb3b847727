import type { BitValue, Edge } from '../types.js';

export interface EdgeDebouncerOptions {
  edge: Edge;
  /** 0 reports every change at once. */
  debounceMs: number;
  /** The logical level when watching starts. */
  initial: BitValue;
  onEdge: (value: BitValue) => void;
}

/**
 * Turns raw level changes (logical values) into debounced edges, the same way for every backend: each raw change
 * restarts a quiet-period timer; when it expires, the latest level is compared with the last stable one, and a
 * change is reported if it matches the requested edge. A bounce that ends where it started reports nothing.
 */
export class EdgeDebouncer {
  private stable: BitValue;
  private latest: BitValue;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(private readonly options: EdgeDebouncerOptions) {
    this.stable = options.initial;
    this.latest = options.initial;
  }

  /** The last raw level pushed. */
  get level(): BitValue {
    return this.latest;
  }

  /** The last debounced level. */
  get stableLevel(): BitValue {
    return this.stable;
  }

  push(value: BitValue): void {
    if (this.disposed) return;
    this.latest = value;
    if (this.options.debounceMs <= 0) {
      this.settle();
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.settle();
    }, this.options.debounceMs);
  }

  /** Forget pending bounces and start again from `value`, without reporting (after a line re-appears). */
  reset(value: BitValue): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.stable = value;
    this.latest = value;
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private settle(): void {
    if (this.latest === this.stable) return;
    this.stable = this.latest;
    if (edgeMatches(this.options.edge, this.stable)) this.options.onEdge(this.stable);
  }
}

function edgeMatches(edge: Edge, value: BitValue): boolean {
  switch (edge) {
    case 'both':
      return true;
    case 'rising':
      return value === 1;
    case 'falling':
      return value === 0;
    case 'none':
      return false;
  }
}
