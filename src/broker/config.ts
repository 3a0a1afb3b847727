import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_LISTENER, isLoopbackHost, type BrokerOptions, type ListenerOptions } from './options.js';

/** The broker's section of the config file (`broker:`), and its translation into BrokerOptions. */

const port = z.number().int().min(0).max(65535);

const tlsSchema = z.strictObject({
  cert_file: z.string().min(1).describe('PEM certificate chain of the listener'),
  key_file: z.string().min(1).describe('PEM private key of the listener'),
  ca_file: z.string().min(1).optional().describe('PEM CA bundle used to verify client certificates'),
  require_certificate: z.boolean().default(false).describe('Refuse clients that present no certificate signed by ca_file'),
  use_identity_as_username: z
    .boolean()
    .default(false)
    .describe("Take the client certificate's CN as the username, like mosquitto's use_identity_as_username"),
});

const listenerSchema = z
  .strictObject({
    protocol: z.enum(['mqtt', 'mqtts', 'ws', 'wss']).default('mqtt').describe('mqtt (TCP), mqtts (TLS), ws or wss (WebSocket)'),
    host: z.string().min(1).default('127.0.0.1').describe('Address to bind; 0.0.0.0 or :: for every interface'),
    port: port.describe('TCP port; 0 picks a free one'),
    path: z.string().startsWith('/').default('/mqtt').describe('HTTP path of a WebSocket listener'),
    allow_anonymous: z
      .boolean()
      .optional()
      .describe('Accept clients without a username. Default: true on a loopback address only, false elsewhere'),
    tls: tlsSchema.optional(),
  })
  .superRefine((listener, ctx) => {
    const needsTls = listener.protocol === 'mqtts' || listener.protocol === 'wss';
    if (needsTls && !listener.tls) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: `a ${listener.protocol} listener needs tls.cert_file and tls.key_file` });
    }
    if (!needsTls && listener.tls) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: `tls is only valid with protocol mqtts or wss, not ${listener.protocol}` });
    }
    if (listener.tls?.require_certificate && !listener.tls.ca_file) {
      ctx.addIssue({ code: 'custom', path: ['tls', 'ca_file'], message: 'require_certificate needs a ca_file to verify client certificates' });
    }
    if (listener.tls?.use_identity_as_username && !listener.tls.require_certificate) {
      ctx.addIssue({
        code: 'custom',
        path: ['tls', 'use_identity_as_username'],
        message: 'use_identity_as_username needs require_certificate: true',
      });
    }
  });

export const brokerSchema = z.strictObject({
  listeners: z
    .array(listenerSchema)
    .default([])
    .describe('Where the broker listens. None configured: 127.0.0.1:1883 only, anonymous allowed there (like Mosquitto 2)'),
  password_file: z.string().min(1).optional().describe("A mosquitto_passwd file ($7$, $6$ or mosquitto 2.1's $argon2id$ hashes)"),
  acl_file: z.string().min(1).optional().describe("A mosquitto acl_file"),
  persistence: z.boolean().default(true).describe('Keep retained messages, persistent sessions and their queued messages across restarts'),
  sys_interval: z.number().int().min(0).default(10).describe('Seconds between $SYS/broker updates; 0 turns them off'),
  max_connections: z.number().int().min(-1).default(-1).describe('-1: no limit'),
  message_size_limit: z
    .number()
    .int()
    .min(0)
    .max(268435455)
    .default(1024 * 1024)
    .describe(
      'Largest PUBLISH payload in bytes. A client announcing more is disconnected as the packet header arrives, before the payload is read (like mosquitto max_packet_size). Default 1 MiB; 0: the MQTT maximum (256 MiB)',
    ),
  max_incomplete_bytes: z
    .number()
    .int()
    .min(0)
    .default(16 * 1024 * 1024)
    .describe(
      'Bytes buffered for packets not yet fully received, all connections together. Past it the connection holding the most is closed. Default 16 MiB; 0: no limit',
    ),
  max_keepalive: z.number().int().min(10).max(65535).default(65535).describe('Clients asking a longer keepalive are refused'),
  max_queued_messages: z
    .number()
    .int()
    .min(0)
    .default(1000)
    .describe(
      "Messages queued per client (behind a full in-flight window or a socket the client does not read, or QoS 1/2 while a persistent session is offline) before new ones are dropped and counted. Default 1000, like mosquitto; 0: no limit",
    ),
  max_queued_bytes: z
    .number()
    .int()
    .min(0)
    .default(8 * 1024 * 1024)
    .describe(
      'Payload bytes of the messages max_queued_messages counts, per client; past it new ones are dropped and counted. Also bounds the inbound QoS 2 messages a client has not released. Default 8 MiB; 0: no limit',
    ),
  max_inflight_messages: z
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(20)
    .describe('QoS 1/2 messages sent to a client and not yet acknowledged; the rest wait in its queue. 0: no limit'),
  drain_timeout: z
    .number()
    .min(0)
    .default(30)
    .describe('Seconds a subscriber may stall its socket before it is disconnected, so it cannot freeze delivery to others'),
});

export type BrokerSection = z.infer<typeof brokerSchema>;
export type ListenerSection = z.infer<typeof listenerSchema>;

/** Where the broker sits: the node's id and state directory (the `gateway:` section), and the config's directory. */
export interface BrokerPlacement {
  id: string;
  /** As written in the config; relative to `baseDir`. */
  stateDir: string;
  baseDir: string;
  version: string;
}

/** The broker's options from its validated section; relative paths are taken from the config file's directory. */
export function toBrokerOptions(broker: BrokerSection, placement: BrokerPlacement): BrokerOptions {
  const { baseDir } = placement;
  const resolve = (file: string | undefined) => (file === undefined ? undefined : path.resolve(baseDir, file));
  const listeners = broker.listeners.length === 0 ? [{ ...DEFAULT_LISTENER }] : broker.listeners.map((l) => toListener(l, resolve));
  return {
    id: placement.id,
    version: placement.version,
    listeners,
    passwordFile: resolve(broker.password_file),
    aclFile: resolve(broker.acl_file),
    persistenceDir: broker.persistence ? path.resolve(baseDir, placement.stateDir, 'broker') : undefined,
    sysIntervalSeconds: broker.sys_interval,
    limits: {
      maxConnections: broker.max_connections,
      messageSizeLimit: broker.message_size_limit,
      maxIncompleteBytes: broker.max_incomplete_bytes,
      maxKeepalive: broker.max_keepalive,
      maxQueuedMessages: broker.max_queued_messages,
      maxQueuedBytes: broker.max_queued_bytes,
      maxInflightMessages: broker.max_inflight_messages,
      drainTimeoutMs: Math.round(broker.drain_timeout * 1000),
    },
  };
}

function toListener(l: ListenerSection, resolve: (file: string | undefined) => string | undefined): ListenerOptions {
  return {
    protocol: l.protocol,
    host: l.host,
    port: l.port,
    path: l.path,
    allowAnonymous: l.allow_anonymous ?? isLoopbackHost(l.host),
    tls: l.tls && {
      certFile: resolve(l.tls.cert_file)!,
      keyFile: resolve(l.tls.key_file)!,
      caFile: resolve(l.tls.ca_file),
      requireCertificate: l.tls.require_certificate,
      useIdentityAsUsername: l.tls.use_identity_as_username,
    },
  };
}
