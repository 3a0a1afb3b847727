import { z } from 'zod';
import { parseDuration } from '../filters/build.js';

/** A duration in config: seconds as a number, or `"500ms"`, `"10s"`, `"5min"`, `"1h"`. Parsed to milliseconds. */
export const durationMs = z
  .union([z.number().positive(), z.string().regex(/^\s*\d+(\.\d+)?\s*(ms|s|min|h)\s*$/, 'a duration such as "500ms", "10s", "5min", "1h"')])
  .transform((value) => parseDuration(value));
