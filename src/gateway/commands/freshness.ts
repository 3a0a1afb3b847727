/**
 * Command freshness: a command that sat in a queue (a persistent session, a retained message, a slow bridge) must not
 * fire long after it was sent. Times are epoch milliseconds; `now` is injected.
 */

/** Epoch values below this are seconds, above are milliseconds (1e11 s is the year 5138, 1e11 ms is 1973). */
const SECONDS_MS_BOUNDARY = 1e11;
/** ISO 8601 date-time with an explicit zone; a zone-less time would be read as the gateway's local time. */
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

export type ParsedTime = { ok: true; ms: number } | { ok: false; reason: string };

/** Parse an ISO 8601 string with zone, or epoch seconds / milliseconds as a number or numeric string. */
export function parseTime(value: unknown): ParsedTime {
  if (typeof value === 'number') return fromEpoch(value);
  if (typeof value !== 'string') return { ok: false, reason: 'expected an ISO 8601 string or epoch seconds/milliseconds' };
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return fromEpoch(Number(text));
  if (!ISO_WITH_ZONE.test(text)) {
    return { ok: false, reason: 'expected an ISO 8601 date-time with a zone (e.g. 2025-01-31T12:00:00Z) or epoch seconds/milliseconds' };
  }
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? { ok: true, ms } : { ok: false, reason: 'not a valid date-time' };
}

function fromEpoch(value: number): ParsedTime {
  if (!Number.isFinite(value) || value <= 0) return { ok: false, reason: 'epoch time must be a positive number' };
  const ms = value < SECONDS_MS_BOUNDARY ? value * 1000 : value;
  // Beyond ±8.64e15 ms a Date is invalid; treat such values as garbage rather than "far future".
  return ms <= 8.64e15 ? { ok: true, ms } : { ok: false, reason: 'epoch time out of range' };
}

export interface FreshnessPolicy {
  /** Refuse commands whose timestamp is older than this (ms). `undefined`: no age limit. */
  maxAgeMs?: number;
  /** Tolerated clock difference for timestamps in the future (ms). */
  maxFutureSkewMs: number;
  /** Refuse commands carrying neither timestamp nor expires. */
  requireTimestamp: boolean;
}

export type FreshnessVerdict =
  | { ok: true }
  | { ok: false; code: 'expired' | 'future_timestamp' | 'missing_timestamp'; message: string };

export function checkFreshness(times: { timestampMs?: number; expiresMs?: number }, now: number, policy: FreshnessPolicy): FreshnessVerdict {
  const { timestampMs, expiresMs } = times;
  if (timestampMs === undefined && expiresMs === undefined) {
    return policy.requireTimestamp
      ? { ok: false, code: 'missing_timestamp', message: 'this gateway requires "timestamp" or "expires" on every command' }
      : { ok: true };
  }
  if (timestampMs !== undefined) {
    if (timestampMs - now > policy.maxFutureSkewMs) {
      return {
        ok: false,
        code: 'future_timestamp',
        message: `timestamp ${new Date(timestampMs).toISOString()} is ${seconds(timestampMs - now)} in the future (allowed clock skew ${seconds(policy.maxFutureSkewMs)})`,
      };
    }
    if (policy.maxAgeMs !== undefined && now - timestampMs > policy.maxAgeMs) {
      return {
        ok: false,
        code: 'expired',
        message: `command is ${seconds(now - timestampMs)} old (timestamp ${new Date(timestampMs).toISOString()}), older than the maximum age ${seconds(policy.maxAgeMs)}`,
      };
    }
  }
  if (expiresMs !== undefined && expiresMs <= now) {
    return { ok: false, code: 'expired', message: `command expired at ${new Date(expiresMs).toISOString()}, ${seconds(now - expiresMs)} ago` };
  }
  return { ok: true };
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
