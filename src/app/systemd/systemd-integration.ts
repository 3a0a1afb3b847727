import type { Logger } from '../../util/logger.js';
import type { Application } from '../application.js';
import { NotifySocketError, openUnixDgramTransport, parseNotifyAddress, type TransportOpener } from './notify-socket.js';
import { SystemdNotifier } from './systemd-notifier.js';
import { ApplicationProbe, EventLoopProbe, WatchdogHealth } from './watchdog-health.js';

/** WATCHDOG_USEC is set but its pings cannot be sent: better to stop now, with the reason, than to be killed later. */
export class WatchdogUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WatchdogUnavailableError';
  }
}

/** What the CLI's signal handling needs of the running application. */
export interface StoppableApplication {
  stop(): Promise<void>;
  reload(): Promise<void>;
}

export interface OpenSystemdOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  pid?: number;
  openTransport?: TransportOpener;
}

/**
 * The gateway under systemd (Type=notify): opened before the application starts, so that a missing socket module
 * fails the start at once. Undefined when NOTIFY_SOCKET is not set: then nothing is loaded and nothing is sent.
 */
export async function openSystemd(options: OpenSystemdOptions): Promise<SystemdIntegration | undefined> {
  const { env, logger } = options;
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return undefined;
  const watchdogUsec = watchdogFor(env, options.pid ?? process.pid);
  try {
    const transport = await (options.openTransport ?? openUnixDgramTransport)(parseNotifyAddress(socket));
    return new SystemdIntegration(new SystemdNotifier({ transport, watchdogUsec, logger }));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (watchdogUsec !== undefined) {
      throw new WatchdogUnavailableError(
        `systemd asks for watchdog pings (WATCHDOG_USEC=${watchdogUsec}) but they cannot be sent: ${reason}. Stopping now rather than being killed when the watchdog expires; fix the socket module or remove WatchdogSec= from the unit.`,
        { cause: error },
      );
    }
    if (!(error instanceof NotifySocketError)) throw error;
    logger.child({ module: 'systemd' }).warn({ reason }, 'NOTIFY_SOCKET is set but cannot be used: systemd will not hear READY=1');
    return undefined;
  }
}

/** sd_watchdog_enabled(3): WATCHDOG_USEC, unless WATCHDOG_PID says it is meant for another process. */
function watchdogFor(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return usec;
}

export class SystemdIntegration {
  private health: WatchdogHealth | undefined;

  constructor(readonly notifier: SystemdNotifier) {}

  /**
   * The application started (broker listening, bridges and gateway up): READY=1, the watchdog from now on (systemd
   * arms it once READY=1 arrives), and the application wrapped so that its stop and reload are announced.
   */
  async running(application: Application): Promise<StoppableApplication> {
    const listeners = application.broker.listenerNames();
    await this.notifier.ready(`running; broker on ${listeners.join(', ') || 'no listener'}`);
    const interval = this.notifier.pingIntervalMs;
    if (interval !== undefined) {
      // A stall longer than the ping interval (at least 1 s, at most 5 s) is a gateway not serving its clients.
      this.health = new WatchdogHealth([new EventLoopProbe(Math.min(5000, Math.max(1000, interval))), new ApplicationProbe(application.lifecycle)]);
      const health = this.health;
      this.notifier.startWatchdog(() => health.check());
    }
    const notifier = this.notifier;
    return {
      async stop() {
        await notifier.stopping();
        await application.stop();
      },
      async reload() {
        await notifier.reloading();
        try {
          await application.reload();
        } finally {
          // READY=1 ends the reload for systemd whatever happened; a failed part is in the log, as without systemd.
          await notifier.ready(`running; reloaded at ${new Date().toISOString()}`);
        }
      },
    };
  }

  close(): void {
    this.health?.close();
    this.notifier.close();
  }
}
