import { z } from 'zod';
import { durationMs } from '../util/duration.js';

/**
 * The `health:` section: the health summary as a retained MQTT message. By default on
 * `<gateway.base_topic>/health` in `run` mode and `$SYS/broker/health` in `broker` mode (see defaultHealthTopic).
 */
export const healthSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Publish the health summary, retained, when it changes'),
    topic: z
      .string()
      .min(1)
      .regex(/^[^+#]+$/, 'a topic without wildcards')
      .optional()
      .describe('Default: <base_topic>/health in run mode, $SYS/broker/health in broker mode'),
    interval: durationMs.default(5_000).describe('How often the summary is checked; it is published only when it changed, so at most this often'),
  })
  .prefault({});

export type HealthSection = z.infer<typeof healthSchema>;

/**
 * Where the summary goes when the config does not say. In `run` mode beside `<base>/status`, where the gateway's
 * subscribers and bridge rules already look. In `broker` mode no gateway publishes under base_topic and the process
 * stands in for mosquitto, whose own state lives under `$SYS`: monitoring users migrated from it already read
 * `$SYS/#`, and `#` subscribers are not flooded with it.
 */
export function defaultHealthTopic(mode: 'run' | 'broker', baseTopic: string): string {
  return mode === 'run' ? `${baseTopic}/health` : '$SYS/broker/health';
}
