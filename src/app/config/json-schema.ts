import { z } from 'zod';
import { configSchema } from './schema.js';

/** The config schema as JSON Schema, for editors (yaml-language-server `# yaml-language-server: $schema=...`). */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'pi-edge-gateway configuration',
  };
}
