import { z } from 'zod';
import { parseDuration } from '../filters/build.js';

/** A duration in config: seconds as a number, or `"500ms"`, `"10s"`, `"5min"`, `"1h"`. Parsed to milliseconds. */
export const durationMs = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    try {
      return parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
