import { z } from 'zod';
import { brokerSchema } from './broker-schema.js';

const topicLevel = z
  .string()
  .min(1)
  .regex(/^[^+#/\s]+$/, 'a single MQTT topic level without + # / or spaces');

export const gatewaySchema = z.strictObject({
  id: topicLevel.default('pi-edge-gateway').describe('Unique id of this gateway: MQTT client ids, Home Assistant unique_ids'),
  name: z.string().min(1).optional().describe('Human-readable name (Home Assistant device name)'),
  base_topic: z
    .string()
    .min(1)
    .regex(/^[^+#]+$/, 'a topic without wildcards')
    .refine((t) => !t.startsWith('/') && !t.endsWith('/'), 'no leading or trailing /')
    .default('pi-edge')
    .describe('Every topic of this gateway starts with it'),
  state_dir: z.string().min(1).default('./var').describe('Where persistent state lives (broker persistence, queues)'),
});

export const logSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  pretty: z.boolean().optional().describe('Human-readable logs; default: when stdout is a terminal'),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  gateway: gatewaySchema.prefault({}),
  log: logSchema.prefault({}),
  broker: brokerSchema.prefault({}),
});

export type GatewayConfig = z.infer<typeof configSchema>;
