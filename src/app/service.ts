/** How a service is doing: `degraded` still serves (a sensor offline), `failed` does not. */
export type HealthStatus = 'ok' | 'degraded' | 'failed';

export interface ServiceHealth {
  status: HealthStatus;
  /** What an operator needs to see why: per-sensor availability, listeners, clients... */
  detail?: Record<string, unknown>;
}

/** One part of the running application, started and stopped by the Lifecycle. */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): ServiceHealth;
  /** SIGHUP: re-read what can change without a restart. */
  reload?(): Promise<unknown>;
}

const RANK: Record<HealthStatus, number> = { ok: 0, degraded: 1, failed: 2 };

export function worstOf(statuses: Iterable<HealthStatus>): HealthStatus {
  let worst: HealthStatus = 'ok';
  for (const status of statuses) if (RANK[status] > RANK[worst]) worst = status;
  return worst;
}
