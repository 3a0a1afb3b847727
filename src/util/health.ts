/** How a part of the gateway is doing: `degraded` still serves (a sensor offline, a bridge down), `failed` does not. */
export type HealthStatus = 'ok' | 'degraded' | 'failed';

export interface ServiceHealth {
  status: HealthStatus;
  /** What an operator needs to see why: per-sensor availability, listeners, clients, a bridge's queue... */
  detail?: Record<string, unknown>;
}

const RANK: Record<HealthStatus, number> = { ok: 0, degraded: 1, failed: 2 };

export function worstOf(statuses: Iterable<HealthStatus>): HealthStatus {
  let worst: HealthStatus = 'ok';
  for (const status of statuses) if (RANK[status] > RANK[worst]) worst = status;
  return worst;
}
