import type { Logger } from '../util/logger.js';

export interface Stoppable {
  stop(): Promise<void>;
  reload?(): Promise<unknown>;
}

/** SIGTERM/SIGINT stop gracefully (a second one forces the exit); SIGHUP reloads. Resolves when stopped. */
export function runUntilSignalled(service: Stoppable, logger: Logger, forceAfterMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal, exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'stopping');
      const force = setTimeout(() => {
        logger.error('graceful stop took too long, exiting');
        process.exit(1);
      }, forceAfterMs);
      force.unref();
      service.stop().then(
        () => {
          clearTimeout(force);
          resolve();
        },
        (error: unknown) => {
          logger.error({ err: error }, 'stop failed');
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    if (service.reload) {
      const reload = service.reload.bind(service);
      process.on('SIGHUP', () => {
        logger.info('SIGHUP: reloading');
        reload().catch((error: unknown) => logger.error({ err: error }, 'reload failed'));
      });
    }
  });
}
