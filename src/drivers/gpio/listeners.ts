import type { BitValue } from '../types.js';

/** Edge listeners of one line; `onFirst`/`onLast` let a backend start and stop its watcher lazily. */
export class ListenerSet {
  private readonly listeners = new Set<(value: BitValue) => void>();

  constructor(
    private readonly hooks: { onFirst?: () => void; onLast?: () => void; onError?: (error: unknown) => void } = {},
  ) {}

  get size(): number {
    return this.listeners.size;
  }

  add(listener: (value: BitValue) => void): () => void {
    // A wrapper per registration, so the same function added twice is removed once per stop().
    const entry = (value: BitValue): void => listener(value);
    this.listeners.add(entry);
    if (this.listeners.size === 1) this.hooks.onFirst?.();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.listeners.delete(entry);
      if (this.listeners.size === 0) this.hooks.onLast?.();
    };
  }

  emit(value: BitValue): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        this.hooks.onError?.(error);
      }
    }
  }

  clear(): void {
    const hadListeners = this.listeners.size > 0;
    this.listeners.clear();
    if (hadListeners) this.hooks.onLast?.();
  }
}
