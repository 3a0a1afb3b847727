import { z } from 'zod';

/**
 * Default port of the HTTP server. Not MQTT's (1883, 8883, 9001), not node_exporter's 9100 (often on a Pi already),
 * not Prometheus' own 9090-9093, Node-RED's 1880, Home Assistant's 8123 or Zigbee2MQTT's 8080. It is in the range
 * Prometheus set aside for exporters, which firewall rules for "metrics ports" tend to cover.
 */
export const DEFAULT_HTTP_PORT = 9188;

/**
 * The `http:` section: the server of `/healthz` and `/metrics`. Without the section there is no server (no socket
 * the operator did not ask for, and two gateways on one machine do not fight over a port); `http: {}` serves on
 * loopback at the default port.
 */
export const httpSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    host: z.string().min(1).default('127.0.0.1').describe('Address to bind; the endpoints have no authentication, keep it on loopback unless a firewall guards it'),
    port: z.number().int().min(0).max(65535).default(DEFAULT_HTTP_PORT).describe(`TCP port (default ${DEFAULT_HTTP_PORT}); 0 picks a free one`),
  })
  .optional()
  .describe('HTTP server for /healthz and /metrics; absent: none');

export type HttpSection = z.infer<typeof httpSchema>;
