import type { HardwareError } from '../errors.js';
import type { GpioLineStatus } from '../types.js';

/**
 * The availability of one open line and who wants to hear of its changes: a backend marks it down with the error
 * its reads and writes should fail with, and up when it holds the line again. Listeners hear changes only.
 */
export class LineStatus {
  private readonly listeners = new Set<(status: GpioLineStatus) => void>();
  private error: HardwareError | undefined;

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  /** Why the line cannot be used now; undefined while it can. */
  get failure(): HardwareError | undefined {
    return this.error;
  }

  down(error: HardwareError): void {
    const wasUp = this.error === undefined;
    this.error = error;
    if (wasUp) this.emit({ available: false, error });
  }

  up(): void {
    if (this.error === undefined) return;
    this.error = undefined;
    this.emit({ available: true });
  }

  subscribe(listener: (status: GpioLineStatus) => void): () => void {
    // A wrapper per registration, so the same function subscribed twice is removed once per call.
    const entry = (status: GpioLineStatus): void => listener(status);
    this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  clear(): void {
    this.listeners.clear();
  }

  private emit(status: GpioLineStatus): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(status);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
