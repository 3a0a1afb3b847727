/**
 * Gives the directives of a mosquitto.conf their meaning, with mosquitto 2.0's rules (src/conf.c): listener options go
 * to the last `listener` (or, before any, to the default listener that `port` and `bind_address` shape); bridge options
 * to the last `connection`; password_file, acl_file and allow_anonymous are global unless per_listener_settings is
 * true. A value mosquitto would refuse is a MosquittoConfError at its line; an option with no equivalent here is a note.
 */
import path from 'node:path';
import { MosquittoConfError, type SourceLine } from './errors.js';
import type { BridgeModel, ImportNote, ListenerModel, Located, MosquittoModel, SecurityOptions } from './model.js';
import { NOT_CARRIED } from './not-carried.js';
import type { Directive, ParsedConf } from './parse-conf.js';

const where = (d: Directive): SourceLine => ({ file: d.file, line: d.line });

function located<T>(value: T, d: Directive): Located<T> {
  return { value, where: where(d) };
}

function parseBool(d: Directive): boolean {
  const word = d.words[0];
  if (word === 'true' || word === '1') return true;
  if (word === 'false' || word === '0') return false;
  throw new MosquittoConfError(d, d.key, word === undefined ? 'expected true or false, got nothing' : `expected true or false, got "${word}"`);
}

function parseInt10(d: Directive, word = d.words[0]): number {
  if (word === undefined || !/^-?\d+$/.test(word)) {
    throw new MosquittoConfError(d, d.key, word === undefined ? 'expected a whole number, got nothing' : `expected a whole number, got "${word}"`);
  }
  return Number(word);
}

function parseString(d: Directive): string {
  if (d.rest === '') throw new MosquittoConfError(d, d.key, 'expected a value, got nothing');
  return d.rest;
}

function newListener(at: SourceLine, port: number): ListenerModel {
  return { where: at, port, protocol: 'mqtt', security: {} };
}

function newBridge(name: string, at: SourceLine): BridgeModel {
  return { name, where: at, topics: [] };
}

/** Options that make mosquitto create its default listener when set before any `listener` line. */
const DEFAULT_LISTENER_TRIGGERS = new Set([
  'bind_interface', 'cafile', 'capath', 'certfile', 'keyfile', 'ciphers', 'ciphers_tls1.3', 'dhparamfile', 'psk_hint', 'crlfile',
  'tls_engine', 'tls_engine_kpass_sha1', 'use_username_as_clientid', 'mount_point', 'socket_domain', 'max_qos', 'maximum_qos',
]);

class Interpreter {
  private readonly model: MosquittoModel;
  private readonly baseDir: string;
  /** mosquitto's `default_listener`: what options before the first `listener` line configure. */
  private readonly defaultListener: ListenerModel;
  /** Whether mosquitto would start the default listener (conf.c's long condition). */
  private defaultListenerUsed = false;
  private current: ListenerModel;
  private bridge: BridgeModel | undefined;
  private securityTouched = false;

  constructor(private readonly conf: ParsedConf) {
    this.baseDir = path.dirname(conf.file);
    this.defaultListener = newListener({ file: conf.file, line: 0 }, 1883);
    this.current = this.defaultListener;
    this.model = {
      file: conf.file,
      perListenerSettings: false,
      localOnly: true,
      security: {},
      listeners: [],
      bridges: [],
      notes: conf.notes.map((n) => ({ ...n })),
    };
  }

  run(): MosquittoModel {
    for (const d of this.conf.directives) this.apply(d);
    if (this.defaultListenerUsed) this.model.listeners.push(this.defaultListener);
    for (const bridge of this.model.bridges) {
      if (!bridge.addresses) throw new MosquittoConfError(bridge.where, 'connection', `bridge "${bridge.name}" has no address`);
      if (bridge.topics.length === 0) throw new MosquittoConfError(bridge.where, 'connection', `bridge "${bridge.name}" has no topic line`);
    }
    return this.model;
  }

  private note(d: Directive, message: string): void {
    this.model.notes.push({ file: d.file, line: d.line, key: d.key, message } satisfies ImportNote);
  }

  /** A path as the gateway will open it: absolute, relative ones taken from the config's directory. */
  private path(d: Directive): Located<string> {
    const value = parseString(d);
    if (path.isAbsolute(value)) return located(value, d);
    const absolute = path.resolve(this.baseDir, value);
    this.note(d, `relative path "${value}" taken as ${absolute} (mosquitto takes it from its working directory)`);
    return located(absolute, d);
  }

  private security(): SecurityOptions {
    this.securityTouched = true;
    return this.model.perListenerSettings ? this.current.security : this.model.security;
  }

  /** The listener a listener option applies to; before any `listener` line, the default listener. */
  private listener(d: Directive): ListenerModel {
    if (this.current === this.defaultListener && DEFAULT_LISTENER_TRIGGERS.has(d.key)) this.useDefaultListener(d);
    return this.current;
  }

  private useDefaultListener(d: Directive): void {
    if (!this.defaultListenerUsed) this.defaultListener.where = where(d);
    this.defaultListenerUsed = true;
  }

  private inBridge(d: Directive): BridgeModel {
    if (!this.bridge) throw new MosquittoConfError(d, d.key, 'a bridge option outside a connection block (it must follow a "connection NAME" line)');
    return this.bridge;
  }

  private apply(d: Directive): void {
    const known = NOT_CARRIED[d.key];
    if (known) {
      if (known.scope === 'bridge') this.inBridge(d);
      if (known.scope === 'listener') this.listener(d);
      if (d.key === 'auth_plugin' || d.key === 'plugin' || d.key === 'psk_file') this.security();
      if (!known.harmless?.includes(d.words[0] ?? '')) this.note(d, known.reason);
      return;
    }
    if (d.key.startsWith('auth_opt_') || d.key.startsWith('plugin_opt_')) {
      this.note(d, NOT_CARRIED.auth_plugin!.reason);
      return;
    }
    switch (d.key) {
      // --- security, global or per listener
      case 'per_listener_settings': {
        const value = parseBool(d);
        if (value && this.securityTouched) throw new MosquittoConfError(d, d.key, 'must come before any other security setting (password_file, acl_file, allow_anonymous, plugins)');
        this.model.perListenerSettings = value;
        return;
      }
      case 'allow_anonymous':
        this.security().allowAnonymous = located(parseBool(d), d);
        return;
      case 'password_file':
      case 'acl_file': {
        const security = this.security();
        const field = d.key === 'password_file' ? 'passwordFile' : 'aclFile';
        if (security[field]) throw new MosquittoConfError(d, d.key, `given twice for the same ${this.model.perListenerSettings ? 'listener' : 'broker'} (first at line ${security[field].where.line} of ${security[field].where.file})`);
        security[field] = this.path(d);
        return;
      }
      // --- listeners
      case 'listener':
        this.startListener(d);
        return;
      case 'port': {
        this.model.localOnly = false;
        const port = parseInt10(d);
        if (port < 1 || port > 65535) throw new MosquittoConfError(d, d.key, `expected a port from 1 to 65535, got ${port}`);
        this.defaultListener.port = port;
        this.useDefaultListener(d);
        this.note(d, 'deprecated in mosquitto; carried over as a listener');
        return;
      }
      case 'bind_address':
        this.model.localOnly = false;
        this.defaultListener.host = parseString(d);
        this.useDefaultListener(d);
        return;
      case 'protocol': {
        const value = d.words[0];
        if (value !== 'mqtt' && value !== 'websockets') throw new MosquittoConfError(d, d.key, `expected mqtt or websockets, got ${value === undefined ? 'nothing' : `"${value}"`}`);
        const listener = this.listener(d);
        listener.protocol = value;
        if (value === 'websockets' && listener === this.defaultListener) this.useDefaultListener(d);
        return;
      }
      case 'cafile':
      case 'capath':
      case 'certfile':
      case 'keyfile': {
        const listener = this.listener(d);
        if (listener[d.key]) throw new MosquittoConfError(d, d.key, `given twice for the same listener (first at line ${listener[d.key]!.where.line})`);
        listener[d.key] = this.path(d);
        return;
      }
      case 'require_certificate':
      case 'use_identity_as_username':
      case 'use_subject_as_username': {
        const value = parseBool(d);
        if (value && this.current === this.defaultListener) this.useDefaultListener(d);
        const field = d.key === 'require_certificate' ? 'requireCertificate' : d.key === 'use_identity_as_username' ? 'useIdentityAsUsername' : 'useSubjectAsUsername';
        this.listener(d)[field] = located(value, d);
        return;
      }
      case 'tls_version': {
        const value = parseString(d);
        if (!['tlsv1.3', 'tlsv1.2', 'tlsv1.1'].includes(value)) throw new MosquittoConfError(d, d.key, `expected tlsv1.3, tlsv1.2 or tlsv1.1, got "${value}"`);
        this.listener(d).tlsVersion = located(value, d);
        return;
      }
      case 'psk_hint':
        this.listener(d).pskHint = located(parseString(d), d);
        return;
      case 'max_connections': {
        const value = Math.max(-1, parseInt10(d));
        if (value !== -1 && this.current === this.defaultListener) this.useDefaultListener(d);
        this.listener(d).maxConnections = located(value, d);
        return;
      }
      case 'socket_domain': {
        const value = d.words[0];
        if (value !== 'ipv4' && value !== 'ipv6') throw new MosquittoConfError(d, d.key, `expected ipv4 or ipv6, got ${value === undefined ? 'nothing' : `"${value}"`}`);
        this.listener(d).socketDomain = value;
        return;
      }
      // --- global
      case 'persistence':
      case 'retained_persistence':
        this.model.persistence = located(parseBool(d), d);
        return;
      case 'persistence_location':
        this.model.persistenceLocation = this.path(d);
        return;
      case 'sys_interval': {
        const value = parseInt10(d);
        if (value < 0 || value > 65535) throw new MosquittoConfError(d, d.key, `expected 0 to 65535 seconds, got ${value}`);
        this.model.sysInterval = value;
        return;
      }
      case 'max_keepalive': {
        const value = parseInt10(d);
        if (value < 10 || value > 65535) throw new MosquittoConfError(d, d.key, `expected 10 to 65535 seconds, got ${value}`);
        this.model.maxKeepalive = value;
        return;
      }
      case 'message_size_limit': {
        const value = parseInt10(d);
        if (value < 0 || value > 268435455) throw new MosquittoConfError(d, d.key, `expected 0 to 268435455 bytes, got ${value}`);
        this.model.messageSizeLimit = located(value, d);
        return;
      }
      case 'max_packet_size': {
        const value = parseInt10(d);
        if (value < 20) throw new MosquittoConfError(d, d.key, `expected at least 20 bytes, got ${value}`);
        this.model.maxPacketSize = located(value, d);
        return;
      }
      case 'max_inflight_messages': {
        const value = parseInt10(d);
        if (value > 65535) throw new MosquittoConfError(d, d.key, `expected at most 65535, got ${value}`);
        // mosquitto reads a negative value and 65535 as "no limit".
        this.model.maxInflightMessages = value < 0 || value === 65535 ? 0 : value;
        return;
      }
      case 'max_queued_messages':
        this.model.maxQueuedMessages = Math.max(0, parseInt10(d));
        return;
      // --- bridges
      case 'connection':
        this.startBridge(d);
        return;
      default:
        if (this.applyBridgeOption(d)) return;
        this.note(d, 'unknown option (mosquitto 2.0 would refuse to start on it): not carried over');
    }
  }

  private startListener(d: Directive): void {
    this.model.localOnly = false;
    const port = parseInt10(d);
    if (port < 0 || port > 65535) throw new MosquittoConfError(d, d.key, `expected a port from 0 to 65535, got ${port}`);
    const bind = d.words[1]?.startsWith('#') ? undefined : d.words[1];
    if (port === 0 && bind === undefined) throw new MosquittoConfError(d, d.key, 'a listener on port 0 needs a unix socket path');
    const listener = newListener(where(d), port);
    if (port === 0) listener.unixSocket = bind;
    else if (bind !== undefined) listener.host = bind;
    this.model.listeners.push(listener);
    this.current = listener;
  }

  private startBridge(d: Directive): void {
    const name = d.words[0];
    if (name === undefined) throw new MosquittoConfError(d, d.key, 'expected a bridge name, got nothing');
    const same = this.model.bridges.find((b) => b.name === name);
    if (same) throw new MosquittoConfError(d, d.key, `a bridge named "${name}" already exists (line ${same.where.line} of ${same.where.file})`);
    this.bridge = newBridge(name, where(d));
    this.model.bridges.push(this.bridge);
  }

  /** The options of a `connection` block; false for an option that is not one. */
  private applyBridgeOption(d: Directive): boolean {
    switch (d.key) {
      case 'address':
      case 'addresses': {
        const bridge = this.inBridge(d);
        if (bridge.addresses) throw new MosquittoConfError(d, d.key, `the bridge already has its addresses (line ${bridge.addresses.where.line}); give them all on one line`);
        // Like mosquitto, a word starting with # ends the list: a trailing comment.
        const comment = d.words.findIndex((w) => w.startsWith('#'));
        const list = comment === -1 ? d.words : d.words.slice(0, comment);
        if (list.length === 0) throw new MosquittoConfError(d, d.key, 'expected host[:port], got nothing');
        for (const address of list) {
          const colon = address.lastIndexOf(':');
          if (colon === -1) continue;
          const port = Number(address.slice(colon + 1));
          if (!/^\d+$/.test(address.slice(colon + 1)) || port < 1 || port > 65535) throw new MosquittoConfError(d, d.key, `expected host[:port] with a port from 1 to 65535, got "${address}"`);
        }
        bridge.addresses = located(list, d);
        return true;
      }
      case 'topic': {
        const bridge = this.inBridge(d);
        if (d.rest === '') throw new MosquittoConfError(d, d.key, 'expected PATTERN [out|in|both] [QOS] [LOCAL-PREFIX REMOTE-PREFIX], got nothing');
        bridge.topics.push(located(d.rest, d));
        return true;
      }
      case 'bridge_protocol_version': {
        const value = d.words[0];
        if (value !== 'mqttv50' && value !== 'mqttv311' && value !== 'mqttv31') throw new MosquittoConfError(d, d.key, `expected mqttv50, mqttv311 or mqttv31, got ${value === undefined ? 'nothing' : `"${value}"`}`);
        this.inBridge(d).protocolVersion = located(value, d);
        return true;
      }
      case 'bridge_cafile':
      case 'bridge_capath':
      case 'bridge_certfile':
      case 'bridge_keyfile': {
        const bridge = this.inBridge(d);
        const field = d.key.slice('bridge_'.length) as 'cafile' | 'capath' | 'certfile' | 'keyfile';
        bridge[field] = this.path(d);
        return true;
      }
      case 'bridge_insecure':
        this.inBridge(d).insecure = located(parseBool(d), d);
        return true;
      case 'bridge_tls_version':
        this.inBridge(d).tlsVersion = located(parseString(d), d);
        return true;
      case 'remote_username':
      case 'username':
        this.inBridge(d).remoteUsername = located(parseString(d), d);
        return true;
      case 'remote_password':
      case 'password':
        this.inBridge(d).remotePassword = located(parseString(d), d);
        return true;
      case 'remote_clientid':
      case 'clientid':
        this.inBridge(d).remoteClientid = located(parseString(d), d);
        return true;
      case 'cleansession':
        this.inBridge(d).cleansession = parseBool(d);
        return true;
      case 'notifications':
        this.inBridge(d).notifications = parseBool(d);
        return true;
      case 'notification_topic':
        this.inBridge(d).notificationTopic = located(parseString(d), d);
        return true;
      case 'try_private':
        this.inBridge(d).tryPrivate = parseBool(d);
        return true;
      case 'restart_timeout': {
        const bridge = this.inBridge(d);
        const base = Math.max(1, parseInt10(d));
        if (d.words[1] === undefined || d.words[1].startsWith('#')) {
          bridge.restartTimeout = base;
          return true;
        }
        const cap = parseInt10(d, d.words[1]);
        if (cap < base) throw new MosquittoConfError(d, d.key, `the cap (${cap}) is lower than the base (${base})`);
        bridge.restartTimeout = [base, cap];
        return true;
      }
      case 'keepalive_interval': {
        const value = parseInt10(d);
        if (value > 65535) throw new MosquittoConfError(d, d.key, `expected at most 65535 seconds, got ${value}`);
        if (value < 5) this.note(d, `${value} s is below mosquitto's minimum: 5 s, as mosquitto uses`);
        this.inBridge(d).keepaliveInterval = Math.max(5, value);
        return true;
      }
      case 'round_robin':
        this.inBridge(d).roundRobin = located(parseBool(d), d);
        return true;
      case 'start_type': {
        const value = d.words[0];
        if (value !== 'automatic' && value !== 'lazy' && value !== 'once') throw new MosquittoConfError(d, d.key, `expected automatic, lazy or once, got ${value === undefined ? 'nothing' : `"${value}"`}`);
        this.inBridge(d).startType = located(value, d);
        return true;
      }
      default:
        return false;
    }
  }
}

/** The meaning of a parsed mosquitto.conf; throws MosquittoConfError where mosquitto would refuse it. */
export function interpretConf(conf: ParsedConf): MosquittoModel {
  return new Interpreter(conf).run();
}
