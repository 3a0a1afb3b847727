/**
 * Fault injection shared by every emulated device.
 * - `nack`, `eio`, `timeout`: the next transfers fail at the bus (NackError EREMOTEIO, HardwareIoError EIO,
 *   HardwareTimeoutError ETIMEDOUT), or the next sysfs reads for file-based devices.
 * - `crc`: the next measurements carry a wrong CRC / checksum.
 * - `stuck`: the next measurements repeat the previous value.
 * - `out-of-range`: the next measurements are a physically impossible raw value (device-specific).
 * `count` is how many operations are affected (default 1, Infinity until clear()).
 */
export type FaultKind = 'nack' | 'eio' | 'timeout' | 'crc' | 'stuck' | 'out-of-range';

export interface FaultSpec {
  kind: FaultKind;
  count?: number;
}

export class FaultInjector {
  private readonly queue: { kind: FaultKind; remaining: number }[] = [];
  private present = true;
  private readonly reconnectListeners: (() => void)[] = [];

  inject(spec: FaultSpec): void {
    const count = spec.count ?? 1;
    if (count > 0) this.queue.push({ kind: spec.kind, remaining: count });
  }

  clear(kind?: FaultKind): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (!kind || this.queue[i]?.kind === kind) this.queue.splice(i, 1);
  }

  /** Consume one occurrence of the earliest pending fault among `kinds`. */
  take(...kinds: FaultKind[]): FaultKind | undefined {
    const index = this.queue.findIndex((f) => kinds.includes(f.kind));
    const fault = this.queue[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.queue.splice(index, 1);
    return fault.kind;
  }

  pending(kind: FaultKind): number {
    return this.queue.filter((f) => f.kind === kind).reduce((sum, f) => sum + f.remaining, 0);
  }

  get connected(): boolean {
    return this.present;
  }

  /** The device vanishes (unplugged, loose wire): it stops answering until reconnect(). */
  disconnect(): void {
    this.present = false;
  }

  /** The device comes back, freshly powered on. */
  reconnect(): void {
    if (this.present) return;
    this.present = true;
    for (const listener of this.reconnectListeners) listener();
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }
}

/** What every emulated device exposes for tests and demos. */
export interface FaultTarget {
  readonly faults: FaultInjector;
  inject(spec: FaultSpec): void;
  disconnect(): void;
  reconnect(): void;
}

/** The FaultTarget methods, delegated to the device's injector: the base of every emulated device. */
export abstract class FaultInjectable implements FaultTarget {
  readonly faults = new FaultInjector();

  inject(spec: FaultSpec): void {
    this.faults.inject(spec);
  }

  disconnect(): void {
    this.faults.disconnect();
  }

  reconnect(): void {
    this.faults.reconnect();
  }
}
