import type { LoginThrottleOptions } from './auth/login-throttle.js';
import type { EngineLimits } from './engine/engine.js';

/** How the embedded broker is set up. Paths are absolute; the gateway's config loader resolves them. */
export type ListenerProtocol = 'mqtt' | 'mqtts' | 'ws' | 'wss';

export interface TlsOptions {
  certFile: string;
  keyFile: string;
  caFile?: string;
  requireCertificate: boolean;
  useIdentityAsUsername: boolean;
}

export interface ListenerOptions {
  protocol: ListenerProtocol;
  host: string;
  port: number;
  /** WebSocket path. */
  path: string;
  allowAnonymous: boolean;
  tls?: TlsOptions;
}

/** The engine's limits (engine/engine.ts, where each is described), and the broker's own. */
export interface BrokerLimits extends EngineLimits {
  /** -1: unlimited. */
  maxConnections: number;
}

export interface BrokerOptions {
  /** Used in $SYS/broker/version and as the aedes id. */
  id: string;
  version: string;
  listeners: ListenerOptions[];
  passwordFile?: string;
  aclFile?: string;
  /** Directory of the on-disk persistence; undefined keeps everything in memory. */
  persistenceDir?: string;
  sysIntervalSeconds: number;
  limits: BrokerLimits;
  /** How failed logins are slowed per address; DEFAULT_LOGIN_THROTTLE unless given (tests). */
  loginThrottle?: LoginThrottleOptions;
}

export const DEFAULT_LIMITS: BrokerLimits = {
  maxConnections: -1,
  messageSizeLimit: 1024 * 1024,
  maxIncompleteBytes: 16 * 1024 * 1024,
  maxKeepalive: 65535,
  maxQueuedMessages: 1000,
  maxQueuedBytes: 8 * 1024 * 1024,
  maxInflightMessages: 20,
  drainTimeoutMs: 30_000,
};

/** Mosquitto 2's safe default: nothing configured means loopback only, anonymous only there. */
export const DEFAULT_LISTENER: ListenerOptions = {
  protocol: 'mqtt',
  host: '127.0.0.1',
  port: 1883,
  path: '/mqtt',
  allowAnonymous: true,
};

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}
