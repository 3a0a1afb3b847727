import type { GpioLine, GpioLineStatus } from '../drivers/types.js';
import type { Logger } from '../util/logger.js';

export type GpioDeviceKind = 'input' | 'output';

/** One input's or output's availability, for health: `lastError` is kept after recovery, to diagnose a flapping line. */
export interface GpioDeviceHealth {
  kind: GpioDeviceKind;
  online: boolean;
  lastError?: string;
}

/**
 * The availability of inputs and outputs as their open lines report it (a backend can lose a line while it is open:
 * chardev's libgpiod tool died and is being restarted). Each change is logged and handed on, for the device's
 * `availability` topic; `stop()` silences it before the gateway publishes its own `offline`.
 */
export class GpioAvailability {
  private readonly devices = new Map<string, GpioDeviceHealth & { unsubscribe: () => void }>();
  private readonly log: Logger;
  private stopped = false;

  constructor(
    private readonly onChange: (device: string, online: boolean, kind: GpioDeviceKind) => void,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'gpio-availability' });
  }

  /** Follows an opened line of `device`, online from now on. */
  track(device: string, kind: GpioDeviceKind, line: Pick<GpioLine, 'onStatus'>): void {
    this.devices.get(device)?.unsubscribe();
    const entry = { kind, online: true, unsubscribe: () => {} };
    this.devices.set(device, entry);
    entry.unsubscribe = line.onStatus?.((status) => this.changed(device, entry, status)) ?? (() => {});
  }

  /** Whether the device's line is usable; false for one never tracked (it could not be opened). */
  online(device: string): boolean {
    return this.devices.get(device)?.online ?? false;
  }

  /** Every tracked device; one that could not be opened at start is not in it (the log and its topic say so). */
  snapshot(): Record<string, GpioDeviceHealth> {
    return Object.fromEntries(
      [...this.devices].map(([device, { kind, online, lastError }]) => [device, { kind, online, ...(lastError === undefined ? {} : { lastError }) }]),
    );
  }

  stop(): void {
    this.stopped = true;
    for (const entry of this.devices.values()) entry.unsubscribe();
  }

  private changed(device: string, entry: GpioDeviceHealth, status: GpioLineStatus): void {
    if (this.stopped || entry.online === status.available) return;
    entry.online = status.available;
    if (status.available) {
      this.log.info({ [entry.kind]: device }, `${entry.kind} ${device} online again: its GPIO line is back`);
    } else {
      entry.lastError = status.error.message;
      this.log.warn({ [entry.kind]: device, err: status.error.message }, `${entry.kind} ${device} offline: its GPIO line is unavailable`);
    }
    this.onChange(device, status.available, entry.kind);
  }
}
