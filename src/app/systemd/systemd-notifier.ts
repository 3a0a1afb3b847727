import type { Logger } from '../../util/logger.js';
import type { NotifyTransport } from './notify-socket.js';
import type { HealthVerdict } from './watchdog-health.js';

export interface NotifierOptions {
  transport: NotifyTransport;
  /** WATCHDOG_USEC when it is meant for this process; undefined: no watchdog. */
  watchdogUsec: number | undefined;
  logger: Logger;
  /** CLOCK_MONOTONIC in µs, which RELOADING=1 carries; Node's hrtime reads that clock on Linux. */
  monotonicUsec?: () => bigint;
}

/**
 * The sd_notify protocol (sd_notify(3)): READY=1 once serving, STATUS= lines for `systemctl status`, RELOADING=1 and
 * READY=1 around a reload, STOPPING=1 when a stop begins, and WATCHDOG=1 at half of WATCHDOG_USEC while the health
 * check passes. A failed send is logged (once until one succeeds again) and never stops the gateway.
 */
export class SystemdNotifier {
  private readonly log: Logger;
  private readonly monotonicUsec: () => bigint;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private withheldFor: string | undefined;
  private sendFailing = false;

  constructor(private readonly options: NotifierOptions) {
    this.log = options.logger.child({ module: 'systemd' });
    this.monotonicUsec = options.monotonicUsec ?? (() => process.hrtime.bigint() / 1000n);
  }

  /** Milliseconds between two pings: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) recommends. */
  get pingIntervalMs(): number | undefined {
    const usec = this.options.watchdogUsec;
    return usec === undefined ? undefined : Math.max(1, Math.floor(usec / 2000));
  }

  ready(status: string): Promise<void> {
    return this.send(`READY=1\nSTATUS=${oneLine(status)}`);
  }

  status(status: string): Promise<void> {
    return this.send(`STATUS=${oneLine(status)}`);
  }

  /** systemd 253+ wants the time of the reload's start with it (Type=notify-reload); older ones ignore the field. */
  reloading(): Promise<void> {
    return this.send(`RELOADING=1\nMONOTONIC_USEC=${this.monotonicUsec()}\nSTATUS=reloading`);
  }

  /** Pings stop too: what is being stopped is no longer healthy, and systemd's stop timeout takes over. */
  stopping(): Promise<void> {
    this.stopWatchdog();
    return this.send('STOPPING=1\nSTATUS=stopping');
  }

  /** Pings every pingIntervalMs while `health` passes; a failing check withholds them until it passes again. */
  startWatchdog(health: () => HealthVerdict): void {
    const interval = this.pingIntervalMs;
    if (interval === undefined || this.watchdogTimer) return;
    this.log.info({ intervalMs: interval }, 'systemd watchdog: pinging while healthy');
    this.watchdogTimer = setInterval(() => void this.tick(health), interval);
    this.watchdogTimer.unref();
  }

  stopWatchdog(): void {
    clearInterval(this.watchdogTimer);
    this.watchdogTimer = undefined;
  }

  close(): void {
    this.stopWatchdog();
    this.options.transport.close();
  }

  private async tick(health: () => HealthVerdict): Promise<void> {
    const verdict = health();
    if (verdict.healthy) {
      if (this.withheldFor !== undefined) {
        this.log.info('healthy again: systemd watchdog pings resumed');
        this.withheldFor = undefined;
        await this.send('WATCHDOG=1\nSTATUS=running');
        return;
      }
      await this.send('WATCHDOG=1');
      return;
    }
    const reason = verdict.reasons.join('; ');
    if (reason !== this.withheldFor) {
      this.log.error({ reasons: verdict.reasons }, 'unhealthy: systemd watchdog pings withheld, systemd restarts the gateway if this lasts');
      this.withheldFor = reason;
      await this.send(`STATUS=${oneLine(`unhealthy, watchdog pings withheld: ${reason}`)}`);
    }
  }

  private async send(message: string): Promise<void> {
    try {
      await this.options.transport.send(message);
      if (this.sendFailing) this.log.info('notifying systemd works again');
      this.sendFailing = false;
    } catch (error) {
      if (!this.sendFailing) this.log.warn({ err: error instanceof Error ? error.message : error }, 'could not notify systemd');
      this.sendFailing = true;
    }
  }
}

/** A STATUS= value ends at the newline that starts the next field. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
