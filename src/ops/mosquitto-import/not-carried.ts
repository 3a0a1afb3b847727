/**
 * mosquitto options that have no equivalent here, each with the reason given to the operator. Which listener or bridge
 * an option belongs to does not change the reason; `scope: 'bridge'` options are still refused outside a `connection`
 * block, as mosquitto refuses them.
 */
export interface NotCarried {
  scope: 'global' | 'listener' | 'bridge';
  reason: string;
  /** Values that change nothing here (mosquitto's default, or our behaviour anyway): no note for them. */
  harmless?: readonly string[];
}

const LOGGING = 'logging is JSON lines on standard output (journald keeps them); set log.level instead';
const PLUGINS = 'plugins cannot be loaded: authentication is the password_file and access control the acl_file';
const NO_PSK = 'TLS pre-shared keys are not supported: use certificates';

export const NOT_CARRIED: Readonly<Record<string, NotCarried>> = {
  // global
  allow_duplicate_messages: { scope: 'global', reason: 'not configurable: a message matching several subscriptions of a client is delivered once', harmless: ['true', '1'] },
  allow_zero_length_clientid: { scope: 'global', reason: 'not configurable: a client with an empty client id gets one generated, as MQTT allows', harmless: ['true', '1'] },
  auth_plugin: { scope: 'global', reason: PLUGINS },
  plugin: { scope: 'global', reason: PLUGINS },
  auth_plugin_deny_special_chars: { scope: 'global', reason: PLUGINS },
  auto_id_prefix: { scope: 'global', reason: 'not configurable: generated client ids have their own prefix' },
  autosave_interval: { scope: 'global', reason: 'not needed: persistence writes what changed behind every 100 ms, not at intervals' },
  autosave_on_changes: { scope: 'global', reason: 'not needed: persistence writes what changed behind every 100 ms' },
  check_retain_source: { scope: 'global', reason: 'not configurable: a retained message is sent to whoever may read its topic', harmless: ['false', '0'] },
  clientid_prefixes: { scope: 'global', reason: 'no equivalent: any client id may connect; restrict clients with the password and ACL files' },
  connection_messages: { scope: 'global', reason: LOGGING },
  log_dest: { scope: 'global', reason: LOGGING },
  log_facility: { scope: 'global', reason: LOGGING },
  log_timestamp: { scope: 'global', reason: LOGGING },
  log_timestamp_format: { scope: 'global', reason: LOGGING },
  log_type: { scope: 'global', reason: LOGGING },
  websockets_log_level: { scope: 'global', reason: LOGGING },
  max_inflight_bytes: { scope: 'global', reason: 'no equivalent: in-flight messages are limited by count (max_inflight_messages) only', harmless: ['0'] },
  max_queued_bytes: { scope: 'global', reason: 'no equivalent: queued messages are limited by count (max_queued_messages) only', harmless: ['0'] },
  memory_limit: { scope: 'global', reason: 'no equivalent: limit the service\'s memory with systemd (MemoryMax=)', harmless: ['0'] },
  persistence_file: { scope: 'global', reason: 'not needed: the broker keeps its state in <state_dir>/broker (a LevelDB directory, not mosquitto.db)' },
  persistent_client_expiration: { scope: 'global', reason: 'no equivalent: persistent sessions are kept until their client cleans them' },
  pid_file: { scope: 'global', reason: 'not needed: systemd tracks the service\'s process' },
  psk_file: { scope: 'global', reason: NO_PSK },
  queue_qos0_messages: { scope: 'global', reason: 'no equivalent: QoS 0 messages are not queued for offline sessions', harmless: ['false', '0'] },
  retain_available: { scope: 'global', reason: 'not configurable: retained messages are always available', harmless: ['true', '1'] },
  set_tcp_nodelay: { scope: 'global', reason: 'not needed: every client socket has TCP_NODELAY set' },
  upgrade_outgoing_qos: { scope: 'global', reason: 'no equivalent: messages keep the QoS they were published with, as MQTT requires', harmless: ['false', '0'] },
  user: { scope: 'global', reason: 'not needed: the systemd unit chooses the user the service runs as' },
  websockets_headers_size: { scope: 'global', reason: 'not configurable' },
  retry_interval: { scope: 'global', reason: 'obsolete: mosquitto 2 ignores it too' },
  // listener
  bind_interface: { scope: 'listener', reason: 'no equivalent: bind the listener to an address of that interface instead' },
  ciphers: { scope: 'listener', reason: 'not configurable: Node.js\'s default TLS 1.2 cipher list is used' },
  'ciphers_tls1.3': { scope: 'listener', reason: 'not configurable: Node.js\'s default TLS 1.3 cipher suites are used' },
  crlfile: { scope: 'listener', reason: 'certificate revocation lists are not checked: a revoked client certificate would still be accepted' },
  dhparamfile: { scope: 'listener', reason: 'not needed: key exchange uses ECDHE' },
  http_dir: { scope: 'listener', reason: 'no equivalent: WebSocket listeners serve no HTTP files' },
  max_qos: { scope: 'listener', reason: 'no equivalent: every QoS is accepted', harmless: ['2'] },
  maximum_qos: { scope: 'listener', reason: 'no equivalent: every QoS is accepted', harmless: ['2'] },
  max_topic_alias: { scope: 'listener', reason: 'not configurable' },
  mount_point: { scope: 'listener', reason: 'no equivalent: clients of this listener will see the whole topic tree, not the tree under the mount point' },
  tls_engine: { scope: 'listener', reason: 'OpenSSL engines are not supported: use a key file' },
  tls_engine_kpass_sha1: { scope: 'listener', reason: 'OpenSSL engines are not supported: use a key file' },
  tls_keyform: { scope: 'listener', reason: 'OpenSSL engines are not supported: use a PEM key file', harmless: ['pem'] },
  use_username_as_clientid: { scope: 'listener', reason: 'no equivalent: clients keep the client id they send', harmless: ['false', '0'] },
  // bridge
  bridge_alpn: { scope: 'bridge', reason: 'not configurable' },
  bridge_attempt_unsubscribe: { scope: 'bridge', reason: 'not needed: the bridge subscribes remotely only to its in and both topics and sends no UNSUBSCRIBE' },
  bridge_bind_address: { scope: 'bridge', reason: 'not configurable: the system chooses the source address' },
  bridge_identity: { scope: 'bridge', reason: NO_PSK },
  bridge_psk: { scope: 'bridge', reason: NO_PSK },
  bridge_max_packet_size: { scope: 'bridge', reason: 'not configurable: the cloud broker\'s own maximum (MQTT 5) is respected', harmless: ['0'] },
  bridge_outgoing_retain: { scope: 'bridge', reason: 'no equivalent: the retain flag is sent to the cloud as published', harmless: ['true', '1'] },
  bridge_require_ocsp: { scope: 'bridge', reason: 'OCSP is not checked', harmless: ['false', '0'] },
  idle_timeout: { scope: 'bridge', reason: 'not needed: bridges start automatically and stay connected (no lazy start)' },
  threshold: { scope: 'bridge', reason: 'not needed: bridges start automatically and stay connected (no lazy start)' },
  local_cleansession: { scope: 'bridge', reason: 'not needed: the bridge is inside the broker, its local subscriptions live as long as the bridge' },
  local_clientid: { scope: 'bridge', reason: 'not needed: the bridge is inside the broker and has no local client id' },
  local_username: { scope: 'bridge', reason: 'not needed: the bridge is inside the broker; the ACL file does not apply to it' },
  local_password: { scope: 'bridge', reason: 'not needed: the bridge is inside the broker; the ACL file does not apply to it' },
  notifications_local_only: { scope: 'bridge', reason: 'no equivalent: notifications go to both brokers', harmless: ['false', '0'] },
};
