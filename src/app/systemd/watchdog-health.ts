import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Lifecycle } from '../lifecycle.js';

/** One thing the watchdog ping vouches for; undefined when fine, else why not, for the log and `systemctl status`. */
export interface HealthProbe {
  check(): string | undefined;
  close?(): void;
}

export interface HealthVerdict {
  healthy: boolean;
  reasons: string[];
}

/** Every probe must pass for a WATCHDOG=1 to be sent. */
export class WatchdogHealth {
  constructor(private readonly probes: readonly HealthProbe[]) {}

  check(): HealthVerdict {
    const reasons: string[] = [];
    for (const probe of this.probes) {
      const reason = probe.check();
      if (reason !== undefined) reasons.push(reason);
    }
    return { healthy: reasons.length === 0, reasons };
  }

  close(): void {
    for (const probe of this.probes) probe.close?.();
  }
}

/**
 * The event loop answered in time since the last check. A loop stuck for good sends no ping at all (the timer never
 * fires); this catches a loop that comes back only now and then, which would still ping but serves nobody: the
 * longest delay seen since the last check must stay under `maxDelayMs`.
 */
export class EventLoopProbe implements HealthProbe {
  private readonly histogram: IntervalHistogram;

  constructor(private readonly maxDelayMs: number) {
    // Sampled every 20 ms: a finer resolution costs wake-ups on a Pi for nothing a watchdog needs.
    this.histogram = monitorEventLoopDelay({ resolution: 20 });
    this.histogram.enable();
  }

  check(): string | undefined {
    const worstMs = this.histogram.max / 1e6;
    this.histogram.reset();
    if (worstMs <= this.maxDelayMs) return undefined;
    return `event loop blocked for ${Math.round(worstMs)} ms (limit ${this.maxDelayMs} ms)`;
  }

  close(): void {
    this.histogram.disable();
  }
}

/**
 * The broker listens on every listener, and no bridge's queue writer broke. Bridges only disconnected from their
 * cloud are `degraded`, not `failed`: a cloud outage must not restart the gateway, whose queues are made for it.
 */
export class ApplicationProbe implements HealthProbe {
  constructor(private readonly lifecycle: Pick<Lifecycle, 'health'>) {}

  check(): string | undefined {
    const { services } = this.lifecycle.health();
    const reasons: string[] = [];
    const broker = services.broker;
    if (broker?.status === 'failed') reasons.push('broker not listening on every listener');
    const bridges = services.bridges;
    if (bridges?.status === 'failed') {
      const failed = Object.entries(bridges.detail ?? {})
        .filter(([, health]) => (health as { status?: string }).status === 'failed')
        .map(([name, health]) => `${name}: ${String(((health as { detail?: { queue?: { writeFailure?: string } } }).detail?.queue?.writeFailure) ?? 'failed')}`);
      reasons.push(`bridge queue writer failed (${failed.join('; ') || 'bridges failed'})`);
    }
    return reasons.length > 0 ? reasons.join(', ') : undefined;
  }
}
