import { z } from 'zod';
import { isValidTopic } from '../mqtt/topic-match.js';
import { durationMs } from '../util/duration.js';
import { parseTopicLine, topicRule, TopicRuleError, type TopicRule } from './topic-mapping.js';

/**
 * The `bridges:` section: one entry per mosquitto `connection` block, with mosquitto's names where it has them, and
 * the durable queue's settings.
 */

const UNITS: Record<string, number> = { B: 1, KB: 1e3, KIB: 1024, MB: 1e6, MIB: 1024 ** 2, GB: 1e9, GIB: 1024 ** 3 };

/** Bytes: a number, or `"256MiB"`, `"64 KB"`, `"1GiB"`. */
const byteSize = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)\s*$/i.exec(value);
  const bytes = match ? Math.floor(Number(match[1]) * UNITS[match[2]!.toUpperCase()]!) : 0;
  if (bytes > 0) return bytes;
  ctx.addIssue({ code: 'custom', message: `expected a size such as "256MiB", "64KB" or a number of bytes, got ${JSON.stringify(value)}` });
  return z.NEVER;
});

export interface BridgeAddress {
  host: string;
  port: number;
}

/** `host`, `host:port` or `[v6]:port`, as mosquitto's `address` takes them (default port 1883). */
const address = z.string().transform((value, ctx): BridgeAddress => {
  const match = /^(?:\[([^\]]+)\]|([^:\s]+))(?::(\d{1,5}))?$/.exec(value.trim());
  const port = match?.[3] === undefined ? 1883 : Number(match[3]);
  if (match && port > 0 && port < 65536) return { host: (match[1] ?? match[2])!, port };
  ctx.addIssue({ code: 'custom', message: `expected host[:port], got ${JSON.stringify(value)}` });
  return z.NEVER;
});

const topicObject = z.strictObject({
  pattern: z.string().describe('Topic or filter; "" (or leave out) when the prefixes are the whole topics'),
  direction: z.enum(['out', 'in', 'both']).default('out'),
  qos: z.literal([0, 1, 2]).default(0),
  local_prefix: z.string().optional(),
  remote_prefix: z.string().optional(),
});

const topicEntry = z.union([z.string(), topicObject]).transform((entry, ctx): TopicRule => {
  try {
    if (typeof entry === 'string') return parseTopicLine(entry);
    return topicRule({
      pattern: entry.pattern === '' || entry.pattern === '""' ? undefined : entry.pattern,
      direction: entry.direction,
      qos: entry.qos,
      localPrefix: entry.local_prefix || undefined,
      remotePrefix: entry.remote_prefix || undefined,
    });
  } catch (error) {
    if (!(error instanceof TopicRuleError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message });
    return z.NEVER;
  }
});

const tlsSchema = z.strictObject({
  cafile: z.string().min(1).optional().describe('PEM CA bundle to verify the cloud broker; default: the system CAs'),
  certfile: z.string().min(1).optional().describe('Client certificate, for brokers that authenticate the gateway by certificate'),
  keyfile: z.string().min(1).optional(),
  server_name: z.string().min(1).optional().describe('Name to verify in the server certificate, when not the address'),
  insecure: z.boolean().default(false).describe('Skip verifying the server certificate: for tests only'),
});

const queueSchema = z.strictObject({
  max_bytes: byteSize.default(256 * 1024 ** 2).describe('Disk the queue may take; beyond it, on_full applies'),
  max_age: durationMs.default(7 * 86_400_000).describe('Messages older than this are dropped unsent (counted)'),
  on_full: z.enum(['drop_oldest', 'refuse']).default('drop_oldest').describe('drop_oldest keeps the newest readings; refuse keeps the oldest'),
  qos0: z.boolean().default(false).describe('Queue QoS 0 messages too (by default they are sent only while connected)'),
  durability: z
    .enum(['fsync', 'write'])
    .default('fsync')
    .describe('fsync: a message is acknowledged locally once on the SD card (survives a power cut); write: once written to the OS (survives a crash)'),
  drain: z
    .enum(['in_order', 'live_first'])
    .default('in_order')
    .describe(
      'After an outage, in_order sends the backlog first, in order per publisher; live_first sends new readings as they come while the backlog drains behind them (older retained messages then lose their retain flag, so the cloud keeps the newest)',
    ),
});

export const bridgeSchema = z
  .strictObject({
    connection: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
      .describe("mosquitto's `connection NAME`: names the bridge in logs, $SYS and its queue directory"),
    addresses: z.array(address).min(1).describe('Cloud brokers as host[:port], tried in order (failover)'),
    protocol_version: z.enum(['mqttv311', 'mqttv50']).default('mqttv311'),
    remote_clientid: z.string().min(1).optional().describe('Client id on the cloud broker; default: the gateway id'),
    remote_username: z.string().min(1).optional(),
    remote_password: z.string().optional().describe('Never logged'),
    cleansession: z.boolean().default(false),
    keepalive_interval: z.number().int().min(5).max(65535).default(60),
    restart_timeout: z
      .union([z.number().positive(), z.tuple([z.number().positive(), z.number().positive()]), z.tuple([z.number().positive(), z.number().positive(), z.number().positive()])])
      .default([5, 30])
      .describe('Seconds before reconnecting: a constant, or [base, cap] for jittered backoff; an optional third value is the time connected after which the backoff starts over'),
    notifications: z.boolean().default(true),
    notification_topic: z.string().min(1).optional().describe('Default: $SYS/broker/connection/<connection>/state'),
    try_private: z.boolean().default(true).describe('Tell a mosquitto peer it is a bridge, so it does not send our own messages back'),
    tls: tlsSchema.optional(),
    topics: z.array(topicEntry).min(1).describe('mosquitto `topic` lines as strings, or objects with the same fields'),
    queue: queueSchema.prefault({}),
  })
  .superRefine((bridge, ctx) => {
    if (bridge.notification_topic !== undefined && !isValidTopic(bridge.notification_topic)) {
      ctx.addIssue({ code: 'custom', path: ['notification_topic'], message: 'a topic without wildcards' });
    }
    if (bridge.tls && (bridge.tls.certfile === undefined) !== (bridge.tls.keyfile === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tls', bridge.tls.certfile ? 'keyfile' : 'certfile'], message: 'certfile and keyfile go together' });
    }
    if (Array.isArray(bridge.restart_timeout) && bridge.restart_timeout[1] < bridge.restart_timeout[0]) {
      ctx.addIssue({ code: 'custom', path: ['restart_timeout'], message: 'the cap must not be below the base' });
    }
  });

export const bridgesSchema = z
  .array(bridgeSchema)
  .default([])
  .superRefine((bridges, ctx) => {
    const seen = new Set<string>();
    bridges.forEach((bridge, index) => {
      if (seen.has(bridge.connection)) ctx.addIssue({ code: 'custom', path: [index, 'connection'], message: `"${bridge.connection}" is already the name of another bridge` });
      seen.add(bridge.connection);
    });
  });

export type BridgeSection = z.infer<typeof bridgeSchema>;
