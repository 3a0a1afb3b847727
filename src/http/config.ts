import { z } from 'zod';
import { isLoopbackHost } from '../broker/options.js';
import { durationMs } from '../util/duration.js';

/**
 * Default port of the HTTP server. Not MQTT's (1883, 8883, 9001), not node_exporter's 9100 (often on a Pi already),
 * not Prometheus' own 9090-9093, Node-RED's 1880, Home Assistant's 8123 or Zigbee2MQTT's 8080. It is in the range
 * Prometheus set aside for exporters, which firewall rules for "metrics ports" tend to cover.
 */
export const DEFAULT_HTTP_PORT = 9188;

/**
 * Who may look at the live page and who may switch outputs from it:
 * - `auto`: `open` on loopback (whoever is on the machine could read the config anyway), `login` anywhere else;
 * - `open`: no login, toggles work (off loopback only behind a firewall: anyone who reaches the port switches outputs);
 * - `login`: HTTP Basic against the broker's own password_file, toggles work (and follow the broker's ACL);
 * - `read_only`: no login, no toggles.
 */
export const WEB_ACCESS = ['auto', 'open', 'login', 'read_only'] as const;
export type WebAccess = (typeof WEB_ACCESS)[number];

const webSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve the live page at / (and its /api/ endpoints)'),
    access: z
      .enum(WEB_ACCESS)
      .default('auto')
      .describe('auto: open on loopback, login elsewhere; open; login (HTTP Basic, the broker password_file); read_only (no login, no toggles)'),
    update_interval: durationMs
      .default(5_000)
      .describe('How often broker and bridge figures are sampled for the plots and pushed to open pages; sensor values are pushed as they are published'),
  })
  .prefault({});

/**
 * The `http:` section: the server of `/healthz`, `/metrics` and the live page. Without the section there is no server
 * (no socket the operator did not ask for, and two gateways on one machine do not fight over a port); `http: {}`
 * serves on loopback at the default port.
 */
export const httpSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Address to bind; /healthz and /metrics have no authentication (the page has web.access), keep it on loopback unless a firewall guards it'),
    port: z.number().int().min(0).max(65535).default(DEFAULT_HTTP_PORT).describe(`TCP port (default ${DEFAULT_HTTP_PORT}); 0 picks a free one`),
    web: webSchema,
  })
  .optional()
  .describe('HTTP server for /healthz, /metrics and the live page; absent: none');

export type HttpSection = z.infer<typeof httpSchema>;
export type WebSection = NonNullable<HttpSection>['web'];

/** What `access` means on this address: `auto` resolved. */
export function effectiveWebAccess(http: { host: string; web: { access: WebAccess } }): Exclude<WebAccess, 'auto'> {
  if (http.web.access !== 'auto') return http.web.access;
  return isLoopbackHost(http.host) ? 'open' : 'login';
}

/** A page that asks for a login needs the broker's password file to check it against. */
export function checkWebAccess(config: { http?: HttpSection; broker: { password_file?: string | undefined } }, ctx: z.core.$RefinementCtx): void {
  const http = config.http;
  if (!http?.enabled || !http.web.enabled) return;
  if (effectiveWebAccess(http) === 'login' && !config.broker.password_file) {
    const why = http.web.access === 'auto' ? ` (auto means login when http.host ${JSON.stringify(http.host)} is not loopback)` : '';
    ctx.addIssue({
      code: 'custom',
      path: ['http', 'web', 'access'],
      message: `login${why} needs broker.password_file to check passwords against; set it, or access: read_only`,
    });
  }
}
