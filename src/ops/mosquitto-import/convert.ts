/**
 * A mosquitto configuration (model.ts) as our config file's sections: `broker` and `bridges` (and `gateway.state_dir`
 * for where mosquitto kept its state). Every value mosquitto would use is written out, its defaults included where
 * ours differ (mosquitto 2 refuses anonymous clients on any listener, keeps nothing on disk, accepts any message size,
 * queues 1000 messages): the gateway started on the result must answer clients as mosquitto did. What cannot be
 * carried, or is carried differently, becomes a note at the line it came from.
 */
import { parseTopicLine, TopicRuleError } from '../../bridge/topic-mapping.js';
import { isValidTopic } from '../../mqtt/topic-match.js';
import { MosquittoConfError, type SourceLine } from './errors.js';
import type { BridgeModel, ImportNote, ListenerModel, Located, MosquittoModel } from './model.js';

/** mosquitto's defaults (mosquitto.conf(5), conf.c) where the model has no value. */
const MOSQUITTO_DEFAULTS = {
  sysInterval: 10,
  maxKeepalive: 65535,
  messageSizeLimit: 0,
  maxInflightMessages: 20,
  maxQueuedMessages: 1000,
} as const;

export interface ConvertOptions {
  /** This machine's name: mosquitto's default bridge client id is `<hostname>.<connection>`. */
  hostname: string;
}

/** The plain object written as YAML; loadConfigFile validates it like any config file. */
export interface ConvertedConfig {
  gateway?: { state_dir: string };
  broker?: Record<string, unknown>;
  bridges?: Record<string, unknown>[];
}

export interface Conversion {
  config: ConvertedConfig;
  notes: ImportNote[];
}

class Converter {
  readonly notes: ImportNote[];

  constructor(
    private readonly model: MosquittoModel,
    private readonly options: ConvertOptions,
  ) {
    this.notes = [...model.notes];
  }

  private note(at: SourceLine, key: string, message: string): void {
    this.notes.push({ file: at.file, line: at.line, key, message });
  }

  convert(): ConvertedConfig {
    const broker: Record<string, unknown> = {};
    const listeners = this.model.localOnly
      ? this.localOnlyListeners()
      : this.model.listeners.flatMap((l) => {
          const converted = this.listener(l);
          return converted ? [{ model: l, section: converted }] : [];
        });
    broker.listeners = listeners.map((l) => l.section);
    Object.assign(broker, this.authFiles());
    broker.persistence = this.model.persistence?.value ?? false;
    broker.sys_interval = this.model.sysInterval ?? MOSQUITTO_DEFAULTS.sysInterval;
    broker.max_connections = this.maxConnections(listeners.map((l) => l.model));
    broker.message_size_limit = this.messageSizeLimit();
    broker.max_keepalive = this.model.maxKeepalive ?? MOSQUITTO_DEFAULTS.maxKeepalive;
    broker.max_queued_messages = this.model.maxQueuedMessages ?? MOSQUITTO_DEFAULTS.maxQueuedMessages;
    broker.max_inflight_messages = this.model.maxInflightMessages ?? MOSQUITTO_DEFAULTS.maxInflightMessages;

    const config: ConvertedConfig = {};
    const location = this.model.persistenceLocation;
    if (location) {
      config.gateway = { state_dir: location.value };
      this.note(location.where, 'persistence_location', `used as gateway.state_dir (the broker's state goes to ${location.value.replace(/\/+$/, '')}/broker); mosquitto.db is not read: retained messages and persistent sessions start empty`);
    } else if (this.model.persistence?.value) {
      this.note(this.model.persistence.where, 'persistence', 'no persistence_location: the state goes to gateway.state_dir, by default ./var next to the config file');
    }
    config.broker = broker;
    config.bridges = this.model.bridges.map((b) => this.bridge(b));
    return config;
  }

  /** mosquitto 2 with no listener, port or bind_address: loopback only, anonymous allowed (it also listens on ::1). */
  private localOnlyListeners(): { model: ListenerModel; section: Record<string, unknown> }[] {
    const model: ListenerModel = { where: { file: this.model.file, line: 0 }, port: 1883, host: '127.0.0.1', protocol: 'mqtt', security: {} };
    const anonymous = this.model.security.allowAnonymous;
    if (anonymous && !anonymous.value) this.note(anonymous.where, 'allow_anonymous', 'ignored, as mosquitto 2 ignores it when no listener is configured: anonymous clients are accepted on loopback');
    const { port, host } = model;
    return [{ model, section: { protocol: 'mqtt', host, port, allow_anonymous: true } }];
  }

  private listener(l: ListenerModel): Record<string, unknown> | undefined {
    const at = l.where;
    if (l.unixSocket !== undefined) {
      this.note(at, 'listener', `unix socket ${l.unixSocket} not carried over: only TCP listeners are supported`);
      return undefined;
    }
    const tls = l.certfile !== undefined && l.keyfile !== undefined;
    if (!tls && l.pskHint) {
      this.note(l.pskHint.where, 'psk_hint', `listener ${l.port} not carried over: TLS pre-shared keys are not supported, and it must not become a listener without encryption`);
      return undefined;
    }
    if (!tls) {
      for (const [key, file] of [['certfile', l.certfile], ['keyfile', l.keyfile], ['cafile', l.cafile], ['capath', l.capath]] as const) {
        if (file) this.note(file.where, key, 'ignored, as mosquitto ignores it: a listener uses TLS only with both certfile and keyfile');
      }
    }
    const websockets = l.protocol === 'websockets';
    const section: Record<string, unknown> = {
      protocol: websockets ? (tls ? 'wss' : 'ws') : tls ? 'mqtts' : 'mqtt',
      host: this.host(l),
      port: l.port,
    };
    if (websockets) {
      section.path = '/mqtt';
      this.note(at, 'protocol', 'websockets served on the path /mqtt only (mosquitto accepts any path; MQTT.js and Paho use /mqtt)');
    }
    section.allow_anonymous = this.allowAnonymous(l);
    if (tls) {
      const tlsSection = this.listenerTls(l, websockets);
      if (!tlsSection) return undefined;
      section.tls = tlsSection;
    }
    return section;
  }

  private host(l: ListenerModel): string {
    if (l.host !== undefined) return l.host;
    if (l.socketDomain === 'ipv6') return '::';
    if (l.socketDomain === undefined) {
      this.note(l.where, 'listener', 'no bind address: written as host 0.0.0.0, IPv4 only (mosquitto listens on IPv6 too; write "::" for both)');
    }
    return '0.0.0.0';
  }

  private allowAnonymous(l: ListenerModel): boolean {
    const setting = this.model.perListenerSettings ? l.security.allowAnonymous : this.model.security.allowAnonymous;
    // mosquitto 2: false unless set, on every listener.
    return setting?.value ?? false;
  }

  private listenerTls(l: ListenerModel, websockets: boolean): Record<string, unknown> | undefined {
    const tls: Record<string, unknown> = { cert_file: l.certfile!.value, key_file: l.keyfile!.value };
    if (l.cafile) tls.ca_file = l.cafile.value;
    if (l.capath) this.note(l.capath.where, 'capath', l.cafile ? 'not carried over: only cafile is read; put the certificates of the directory into that file' : 'not carried over: only a CA file is read; concatenate the directory\'s certificates into one file and set tls.ca_file');
    if (l.tlsVersion && l.tlsVersion.value !== 'tlsv1.2') {
      this.note(l.tlsVersion.where, 'tls_version', l.tlsVersion.value === 'tlsv1.3' ? 'not configurable: TLS 1.2 is accepted too' : 'TLS 1.1 is not accepted: the minimum is TLS 1.2');
    }
    const identity = l.useIdentityAsUsername?.value ?? false;
    const subject = l.useSubjectAsUsername?.value ?? false;
    let require = l.requireCertificate?.value ?? false;
    if (websockets) {
      // mosquitto: "only the cafile, certfile, keyfile, ciphers, and ciphers_tls1.3 options are supported" on websockets.
      const options = [['require_certificate', l.requireCertificate], ['use_identity_as_username', l.useIdentityAsUsername], ['use_subject_as_username', l.useSubjectAsUsername]] as const;
      for (const [key, option] of options) {
        if (option?.value) this.note(option.where, key, 'ignored on a websockets listener, as mosquitto ignores it');
      }
      return { ...tls, require_certificate: false, use_identity_as_username: false };
    }
    if (subject && !identity) {
      this.note(l.useSubjectAsUsername!.where, 'use_subject_as_username', 'not supported: clients still need a valid certificate, but their username is the one they send (or use use_identity_as_username for the CN)');
    }
    if (identity && !require) {
      // mosquitto refuses every client of such a listener that has no certificate; requiring one is the same answer.
      this.note(l.useIdentityAsUsername!.where, 'use_identity_as_username', 'without require_certificate: written as require_certificate: true, which refuses the same clients (those without a certificate)');
      require = true;
    }
    if ((require || subject) && !l.cafile) {
      this.note(l.where, 'listener', `listener ${l.port} not carried over: it requires client certificates but has no cafile to verify them with`);
      return undefined;
    }
    return { ...tls, require_certificate: require || subject, use_identity_as_username: identity };
  }

  /** password_file and acl_file: one pair for the broker here; per listener in mosquitto with per_listener_settings. */
  private authFiles(): Record<string, string> {
    const files: Record<string, string> = {};
    if (!this.model.perListenerSettings) {
      if (this.model.security.passwordFile) files.password_file = this.model.security.passwordFile.value;
      if (this.model.security.aclFile) files.acl_file = this.model.security.aclFile.value;
      return files;
    }
    for (const [field, key] of [['passwordFile', 'password_file'], ['aclFile', 'acl_file']] as const) {
      const perListener = this.model.listeners.map((l) => l.security[field]);
      const given = perListener.filter((f): f is Located<string> => f !== undefined);
      const first = given[0];
      if (!first) continue;
      files[key] = first.value;
      for (const other of given.slice(1)) {
        if (other.value !== first.value) this.note(other.where, key, `not carried over: one ${key} serves every listener here; ${first.value} (line ${first.where.line}) is used`);
      }
      if (given.length < perListener.length) {
        this.note(first.where, key, `per_listener_settings: used for every listener here, also those that had no ${key}`);
      }
    }
    return files;
  }

  /** Per listener in mosquitto, for the whole broker here: the sum of the listeners' limits when they all have one. */
  private maxConnections(listeners: ListenerModel[]): number {
    const limits = listeners.map((l) => l.maxConnections);
    const set = limits.filter((m): m is Located<number> => m !== undefined && m.value !== -1);
    if (set.length === 0) return -1;
    if (listeners.length === 1) return set[0]!.value;
    const total = set.length === limits.length ? set.reduce((sum, m) => sum + m.value, 0) : -1;
    for (const m of set) {
      this.note(m.where, 'max_connections', `mosquitto limits each listener; here the limit is for the whole broker: ${total === -1 ? 'none, since another listener has no limit' : `${total}, the sum over the listeners`}`);
    }
    return total;
  }

  private messageSizeLimit(): number {
    const limit = this.model.messageSizeLimit;
    const packet = this.model.maxPacketSize;
    const value = limit?.value ?? MOSQUITTO_DEFAULTS.messageSizeLimit;
    if (limit && limit.value > 0) {
      this.note(limit.where, 'message_size_limit', 'a client announcing a larger message is disconnected as its header arrives; mosquitto reads it and drops it');
    }
    if (!packet) return value;
    const chosen = value === 0 ? packet.value : Math.min(value, packet.value);
    this.note(packet.where, 'max_packet_size', `carried as message_size_limit ${chosen} (the limit here is on the payload plus the protocol's own fields, close to a packet's size)`);
    return chosen;
  }

  private bridge(b: BridgeModel): Record<string, unknown> {
    const name = b.name.replace(/[^A-Za-z0-9_-]/g, '-');
    if (name !== b.name) this.note(b.where, 'connection', `"${b.name}" renamed "${name}": bridge names here are letters, digits, _ and - (they name a directory)`);
    const remoteClientid = b.remoteClientid?.value ?? `${this.options.hostname}.${b.name}`;
    const section: Record<string, unknown> = {
      connection: name,
      addresses: b.addresses!.value.map((a) => bracketIpv6(a)),
    };
    if (b.protocolVersion) {
      if (b.protocolVersion.value === 'mqttv31') this.note(b.protocolVersion.where, 'bridge_protocol_version', 'MQTT 3.1 is not supported: written as mqttv311');
      section.protocol_version = b.protocolVersion.value === 'mqttv50' ? 'mqttv50' : 'mqttv311';
    }
    section.remote_clientid = remoteClientid;
    if (!b.remoteClientid) {
      this.note(b.where, 'remote_clientid', `mosquitto's default "${remoteClientid}" (<hostname>.<connection>) written out, so the cloud keeps the same session; convert on the machine that ran mosquitto or set it by hand`);
    }
    if (b.remoteUsername) section.remote_username = b.remoteUsername.value;
    if (b.remotePassword) section.remote_password = b.remotePassword.value;
    section.cleansession = b.cleansession ?? false;
    section.keepalive_interval = b.keepaliveInterval ?? 60;
    section.restart_timeout = b.restartTimeout ?? [5, 30];
    section.notifications = b.notifications ?? true;
    if (section.notifications) {
      const topic = b.notificationTopic?.value ?? `$SYS/broker/connection/${remoteClientid}/state`;
      if (isValidTopic(topic)) section.notification_topic = topic;
      else this.note(b.notificationTopic?.where ?? b.where, 'notification_topic', `"${topic}" is not a valid topic: the default $SYS/broker/connection/${name}/state is used`);
      this.note(b.notificationTopic?.where ?? b.where, 'notifications', 'the cloud broker sees "online"/"offline" on the notification topic where mosquitto sent "1"/"0" (the local broker still gets "1"/"0")');
    } else if (b.notificationTopic) {
      section.notification_topic = b.notificationTopic.value;
    }
    section.try_private = b.tryPrivate ?? true;
    const tls = this.bridgeTls(b);
    if (tls) section.tls = tls;
    section.topics = b.topics.map((t) => topicLine(t));
    if (b.roundRobin?.value) this.note(b.roundRobin.where, 'round_robin', 'not supported: the first address is the main one, tried again after each disconnection (mosquitto\'s round_robin false)');
    if (b.startType && b.startType.value !== 'automatic') {
      this.note(b.startType.where, 'start_type', `${b.startType.value} not supported: the bridge starts with the broker and reconnects whenever the connection drops (automatic)`);
    }
    return section;
  }

  private bridgeTls(b: BridgeModel): Record<string, unknown> | undefined {
    if (!b.cafile && !b.capath) {
      for (const [key, file] of [['bridge_certfile', b.certfile], ['bridge_keyfile', b.keyfile]] as const) {
        if (file) this.note(file.where, key, 'ignored, as mosquitto ignores it: a bridge uses TLS only with bridge_cafile or bridge_capath');
      }
      return undefined;
    }
    const tls: Record<string, unknown> = {};
    if (b.cafile) tls.cafile = b.cafile.value;
    if (b.capath) {
      this.note(b.capath.where, 'bridge_capath', b.cafile ? 'not carried over: only bridge_cafile is read' : 'not carried over: the system\'s CA certificates verify the cloud broker instead (set tls.cafile for another CA)');
    }
    if (b.certfile) tls.certfile = b.certfile.value;
    if (b.keyfile) tls.keyfile = b.keyfile.value;
    if (b.insecure?.value) {
      tls.insecure = true;
      this.note(b.insecure.where, 'bridge_insecure', 'carried as tls.insecure, which skips verifying the server certificate altogether, not only its host name');
    }
    if (b.tlsVersion && b.tlsVersion.value !== 'tlsv1.2') {
      this.note(b.tlsVersion.where, 'bridge_tls_version', 'not configurable: TLS 1.2 or 1.3 is negotiated');
    }
    return tls;
  }
}

/** mosquitto writes IPv6 bridge addresses bare with the port last (`::1:1883`); ours take `[::1]:1883`. */
function bracketIpv6(address: string): string {
  if (address.startsWith('[') || address.indexOf(':') === address.lastIndexOf(':')) return address;
  const colon = address.lastIndexOf(':');
  return `[${address.slice(0, colon)}]:${address.slice(colon + 1)}`;
}

/**
 * A topic line as our bridge reads it: mosquitto's own syntax, passed through with two things mosquitto also accepts
 * made plain: a direction in capitals, and a `#` comment after the QoS.
 */
function topicLine(t: Located<string>): string {
  const words = t.value.split(/\s+/);
  const comment = words.findIndex((w, i) => i >= 2 && w.startsWith('#'));
  const kept = comment === -1 ? words : words.slice(0, comment);
  if (kept[1] !== undefined) kept[1] = kept[1].toLowerCase();
  const line = kept.join(' ');
  try {
    parseTopicLine(line);
  } catch (error) {
    if (error instanceof TopicRuleError) throw new MosquittoConfError(t.where, 'topic', error.message);
    throw error;
  }
  return line;
}

/** Our config's sections for a mosquitto configuration, with what could not be carried over. */
export function convertModel(model: MosquittoModel, options: ConvertOptions): Conversion {
  const converter = new Converter(model, options);
  const config = converter.convert();
  return { config, notes: converter.notes };
}
