import { performance } from 'node:perf_hooks';
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
 * longest delay seen since the last check must stay under `maxDelayMs`. Measured as the drift of a short timer:
 * perf_hooks' monitorEventLoopDelay on Node 20 did not record a 400 ms busy loop (its samples stayed at ~20 ms).
 */
export class EventLoopProbe implements HealthProbe {
  private readonly timer: NodeJS.Timeout;
  private last = performance.now();
  private worstMs = 0;

  constructor(
    private readonly maxDelayMs: number,
    // A finer resolution costs a Pi wake-ups for nothing a watchdog needs.
    resolutionMs = 50,
  ) {
    this.timer = setInterval(() => {
      const now = performance.now();
      this.worstMs = Math.max(this.worstMs, now - this.last - resolutionMs);
      this.last = now;
    }, resolutionMs);
    this.timer.unref();
  }

  check(): string | undefined {
    // A stall still in progress at the check (a timer not yet run) counts too.
    const worstMs = Math.max(this.worstMs, performance.now() - this.last);
    this.worstMs = 0;
    if (worstMs <= this.maxDelayMs) return undefined;
    return `event loop blocked for ${Math.round(worstMs)} ms (limit ${this.maxDelayMs} ms)`;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/**
 * The broker listens on every listener, and no bridge's queue writer hangs. Bridges only disconnected from their
 * cloud, or reopening a queue after a failed write (a full disk), are `degraded`, not `failed`: a restart would not
 * help them, and a restart loop would take the broker and the sensors down too.
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
        .map(([name, health]) => `${name}: ${String((health as { detail?: { queueProblem?: string } }).detail?.queueProblem ?? 'failed')}`);
      reasons.push(`bridge queue writer hangs (${failed.join('; ') || 'bridges failed'})`);
    }
    return reasons.length > 0 ? reasons.join(', ') : undefined;
  }
}
