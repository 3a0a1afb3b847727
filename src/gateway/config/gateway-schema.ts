import { z } from 'zod';
import { commandsSchema, hardwareSchema, homeAssistantSchema, inputSchema, outputSchema, publishSchema, sensorSchema } from './devices-schema.js';

const topicLevel = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');

/** The node itself: its id and name, the root of its topics, where its state lives. The broker uses id and state_dir too. */
const nodeSchema = z.strictObject({
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

/** The sections of the config file the gateway owns, as a shape for the application to assemble. */
export const gatewaySections = {
  gateway: nodeSchema.prefault({}),
  hardware: hardwareSchema.prefault({}),
  publish: publishSchema.prefault({}),
  commands: commandsSchema.prefault({}),
  homeassistant: homeAssistantSchema.prefault({}),
  sensors: z.array(sensorSchema).default([]),
  inputs: z.array(inputSchema).default([]),
  outputs: z.array(outputSchema).default([]),
};

export type GatewaySettings = z.infer<z.ZodObject<typeof gatewaySections>>;

/** Sensors, inputs and outputs share the topic namespace <base>/<name>/..., and a GPIO line has one user. */
export function checkDevices(config: GatewaySettings, ctx: z.core.$RefinementCtx): void {
  const seen = new Map<string, string>();
  for (const section of ['sensors', 'inputs', 'outputs'] as const) {
    config[section].forEach((device, index) => {
      const first = seen.get(device.name);
      if (first) ctx.addIssue({ code: 'custom', path: [section, index, 'name'], message: `"${device.name}" is already used by ${first}` });
      else seen.set(device.name, `${section}[${index}]`);
    });
  }
  const pins = new Map<number, string>();
  for (const section of ['inputs', 'outputs'] as const) {
    config[section].forEach((device, index) => {
      const first = pins.get(device.pin);
      if (first) ctx.addIssue({ code: 'custom', path: [section, index, 'pin'], message: `GPIO${device.pin} is already used by ${first}` });
      else pins.set(device.pin, `${section}[${index}]`);
    });
  }
}
