import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds from a number of seconds or a string with a unit (`500ms`, `10s`, `5min`, `1h`, `7d`); RangeError otherwise. */
export function parseDuration(value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`duration must be a positive number of seconds, got ${value}`);
    return value * 1000;
  }
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)\s*$/.exec(value);
    if (match) {
      const amount = Number(match[1]);
      if (amount > 0) return amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
    }
  }
  throw new RangeError(`expected a positive duration: seconds as a number, or a string such as "500ms", "10s", "5min", "1h", "7d"; got ${JSON.stringify(value)}`);
}

/** A duration in config, parsed to milliseconds (parseDuration); a wrong one is reported at its key. */
export const durationMs = z.union([z.number(), z.string()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
