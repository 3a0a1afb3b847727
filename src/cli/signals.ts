import type { Logger } from '../util/logger.js';

export interface Stoppable {
  stop(): Promise<void>;
  reload?(): Promise<unknown>;
}

/**
 * SIGTERM/SIGINT stop gracefully (another one, a second or more later, forces the exit); SIGHUP reloads. Resolves
 * when stopped, with the exit code: 0, or 1 when stop() failed.
 */
const DUPLICATE_SIGNAL_WINDOW_MS = 1000;

export function runUntilSignalled(service: Stoppable, logger: Logger, forceAfterMs = 10_000): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    let firstSignalAt = 0;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // One Ctrl-C under `npm start` arrives several times: the terminal signals the whole process group and
        // npm and tsx relay it too. Only a later one is a user insisting.
        if (Date.now() - firstSignalAt < DUPLICATE_SIGNAL_WINDOW_MS) return;
        logger.warn({ signal }, 'second signal, exiting now');
        process.exit(1);
      }
      stopping = true;
      firstSignalAt = Date.now();
      logger.info({ signal }, 'stopping');
      const force = setTimeout(() => {
        logger.error('graceful stop took too long, exiting');
        process.exit(1);
      }, forceAfterMs);
      force.unref();
      service.stop().then(
        () => {
          clearTimeout(force);
          resolve(0);
        },
        (error: unknown) => {
          clearTimeout(force);
          logger.error({ err: error }, 'stop failed');
          resolve(1);
        },
      );
    };
    // `on`, not `once`: with the listener gone, a second signal would kill the process before it logs and exits 1.
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    if (service.reload) {
      const reload = service.reload.bind(service);
      process.on('SIGHUP', () => {
        if (stopping) return;
        logger.info('SIGHUP: reloading');
        reload().catch((error: unknown) => logger.error({ err: error }, 'reload failed'));
      });
    }
  });
}
