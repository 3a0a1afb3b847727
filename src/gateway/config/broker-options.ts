import path from 'node:path';
import { DEFAULT_LISTENER, isLoopbackHost, type BrokerOptions, type ListenerOptions } from '../../broker/options.js';
import type { ListenerSection } from './broker-schema.js';
import type { GatewayConfig } from './schema.js';

/** The broker's options from the validated config; relative paths are taken from the config file's directory. */
export function toBrokerOptions(config: GatewayConfig, baseDir: string, version: string): BrokerOptions {
  const broker = config.broker;
  const resolve = (file: string | undefined) => (file === undefined ? undefined : path.resolve(baseDir, file));
  const listeners = broker.listeners.length === 0 ? [{ ...DEFAULT_LISTENER }] : broker.listeners.map((l) => toListener(l, resolve));
  return {
    id: config.gateway.id,
    version,
    listeners,
    passwordFile: resolve(broker.password_file),
    aclFile: resolve(broker.acl_file),
    persistenceDir: broker.persistence ? path.resolve(baseDir, config.gateway.state_dir, 'broker') : undefined,
    sysIntervalSeconds: broker.sys_interval,
    limits: {
      maxConnections: broker.max_connections,
      messageSizeLimit: broker.message_size_limit,
      maxKeepalive: broker.max_keepalive,
      maxQueuedMessages: broker.max_queued_messages,
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
