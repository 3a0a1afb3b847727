import type { Logger } from '../util/logger.js';
import { worstOf, type HealthStatus, type ServiceHealth } from '../util/health.js';
import type { Service } from './service.js';

/** A stop during which some services failed or did not finish; the others were stopped all the same. */
export class LifecycleStopError extends AggregateError {
  constructor(readonly failures: readonly { service: string; error: unknown }[]) {
    super(
      failures.map((f) => f.error),
      `stop failed for ${failures.map((f) => `${f.service} (${(f.error as Error)?.message ?? String(f.error)})`).join(', ')}`,
    );
    this.name = 'LifecycleStopError';
  }
}

export class ServiceStopTimeout extends Error {
  constructor(service: string, ms: number) {
    super(`${service} did not stop within ${ms} ms`);
    this.name = 'ServiceStopTimeout';
  }
}

export interface ApplicationHealth {
  status: HealthStatus;
  services: Record<string, ServiceHealth>;
}

/**
 * Starts services in order and stops them in reverse. A service that fails to start stops the ones already
 * started (in reverse) and the error goes to the caller; a stop that throws or hangs past `stopTimeoutMs` is logged
 * and the next service is stopped regardless, and stop() reports every failure at the end.
 */
export class Lifecycle {
  private started: Service[] = [];
  private readonly log: Logger;

  constructor(
    readonly services: readonly Service[],
    logger: Logger,
    private readonly stopTimeoutMs = 5_000,
  ) {
    this.log = logger.child({ module: 'lifecycle' });
  }

  async start(): Promise<void> {
    for (const service of this.services) {
      try {
        await service.start();
      } catch (error) {
        this.log.error({ service: service.name, err: error }, 'start failed; stopping what was started');
        await this.stop().catch(() => undefined);
        throw error;
      }
      this.started.push(service);
      this.log.debug({ service: service.name }, 'started');
    }
  }

  async stop(): Promise<void> {
    const failures: { service: string; error: unknown }[] = [];
    for (const service of this.started.splice(0).reverse()) {
      try {
        await this.stopOne(service);
        this.log.debug({ service: service.name }, 'stopped');
      } catch (error) {
        this.log.error({ service: service.name, err: error }, 'stop failed; stopping the others');
        failures.push({ service: service.name, error });
      }
    }
    if (failures.length > 0) throw new LifecycleStopError(failures);
  }

  /** Reloads every running service that can; a failure is logged and does not stop the others. */
  async reload(): Promise<void> {
    for (const service of this.started) {
      if (!service.reload) continue;
      try {
        await service.reload();
      } catch (error) {
        this.log.error({ service: service.name, err: error }, 'reload failed');
      }
    }
  }

  health(): ApplicationHealth {
    const services: Record<string, ServiceHealth> = {};
    const running = new Set(this.started);
    for (const service of this.services) services[service.name] = running.has(service) ? service.health() : { status: 'failed', detail: { running: false } };
    return { status: worstOf(Object.values(services).map((h) => h.status)), services };
  }

  private stopOne(service: Service): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ServiceStopTimeout(service.name, this.stopTimeoutMs)), this.stopTimeoutMs);
    });
    return Promise.race([service.stop(), timeout]).finally(() => clearTimeout(timer));
  }
}
