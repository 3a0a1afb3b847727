import { z } from 'zod';
import { bridgesSchema } from '../../bridge/config.js';
import { brokerSchema } from '../../broker/config.js';
import { checkDevices, gatewaySections } from '../../gateway/config/gateway-schema.js';
import { checkWebAccess, httpSchema } from '../../http/config.js';
import { healthSchema } from '../../ops/config.js';

const logSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  pretty: z.boolean().optional().describe('Human-readable logs; default: when stdout is a terminal'),
});

/**
 * The whole config file, assembled from the sections each module owns: `broker` (src/broker/config.ts), `bridges`
 * (src/bridge/config.ts), the gateway's (src/gateway/config/gateway-schema.ts), and the application's own `log`. schema/config.schema.json is made from it.
 */
export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    log: logSchema.prefault({}),
    broker: brokerSchema.prefault({}),
    bridges: bridgesSchema,
    // The operations endpoints: src/http/config.ts and src/ops/config.ts.
    http: httpSchema,
    health: healthSchema,
    ...gatewaySections,
  })
  .superRefine(checkDevices)
  .superRefine(checkWebAccess);

export type AppConfig = z.infer<typeof configSchema>;
