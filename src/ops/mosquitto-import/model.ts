/** What a mosquitto.conf says, once mosquitto's scoping rules are applied: the input of convert.ts. */
import type { SourceLine } from './errors.js';

export interface Located<T> {
  value: T;
  where: SourceLine;
}

/** Something the import could not carry over, or carried over differently; one line on standard error. */
export interface ImportNote extends SourceLine {
  /** The mosquitto option concerned. */
  key: string;
  message: string;
}

/** password_file, acl_file, allow_anonymous and the plugins: global, or per listener with per_listener_settings. */
export interface SecurityOptions {
  allowAnonymous?: Located<boolean>;
  passwordFile?: Located<string>;
  aclFile?: Located<string>;
}

export interface ListenerModel {
  /** The `listener` line; for mosquitto's default listener (`port`, `bind_address`), the first line that shaped it. */
  where: SourceLine;
  port: number;
  host?: string;
  /** `listener 0 /path`: a unix socket. */
  unixSocket?: string;
  protocol: 'mqtt' | 'websockets';
  cafile?: Located<string>;
  capath?: Located<string>;
  certfile?: Located<string>;
  keyfile?: Located<string>;
  requireCertificate?: Located<boolean>;
  useIdentityAsUsername?: Located<boolean>;
  useSubjectAsUsername?: Located<boolean>;
  tlsVersion?: Located<string>;
  pskHint?: Located<string>;
  maxConnections?: Located<number>;
  socketDomain?: 'ipv4' | 'ipv6';
  /** Used only with per_listener_settings true. */
  security: SecurityOptions;
}

export interface BridgeModel {
  name: string;
  where: SourceLine;
  /** `host:port` words as written (IPv6 addresses without brackets, port last). */
  addresses?: Located<string[]>;
  /** What follows `topic` on each topic line. */
  topics: Located<string>[];
  protocolVersion?: Located<string>;
  cafile?: Located<string>;
  capath?: Located<string>;
  certfile?: Located<string>;
  keyfile?: Located<string>;
  insecure?: Located<boolean>;
  tlsVersion?: Located<string>;
  remoteUsername?: Located<string>;
  remotePassword?: Located<string>;
  remoteClientid?: Located<string>;
  cleansession?: boolean;
  notifications?: boolean;
  notificationTopic?: Located<string>;
  tryPrivate?: boolean;
  restartTimeout?: number | [number, number];
  keepaliveInterval?: number;
  roundRobin?: Located<boolean>;
  startType?: Located<string>;
}

export interface MosquittoModel {
  /** The main file, absolute. */
  file: string;
  perListenerSettings: boolean;
  /** No `listener`, `port` or `bind_address` anywhere: mosquitto 2's local only mode. */
  localOnly: boolean;
  /** The global security options (per_listener_settings false). */
  security: SecurityOptions;
  /** In mosquitto's order; its default listener, when it makes one, comes last. */
  listeners: ListenerModel[];
  persistence?: Located<boolean>;
  persistenceLocation?: Located<string>;
  sysInterval?: number;
  maxKeepalive?: number;
  messageSizeLimit?: Located<number>;
  maxPacketSize?: Located<number>;
  maxInflightMessages?: number;
  maxQueuedMessages?: number;
  bridges: BridgeModel[];
  notes: ImportNote[];
}
