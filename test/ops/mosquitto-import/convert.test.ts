import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/app/config/load.js';
import { convertModel } from '../../../src/ops/mosquitto-import/convert.js';
import { MosquittoConfError } from '../../../src/ops/mosquitto-import/errors.js';
import { renderYaml } from '../../../src/ops/mosquitto-import/import-conf.js';
import { interpretConf } from '../../../src/ops/mosquitto-import/interpret.js';
import { parseConfText } from '../../../src/ops/mosquitto-import/parse-conf.js';

const FILE = '/etc/mosquitto/mosquitto.conf';

/** Converts mosquitto.conf text and checks that the result loads as our config. */
function convert(text: string) {
  const { config, notes } = convertModel(interpretConf({ file: FILE, directives: parseConfText(text, FILE), notes: [] }), { hostname: 'raspberrypi' });
  const loaded = parseConfig(renderYaml(config, FILE, notes), 'converted.yaml');
  return { config, notes, loaded, noteLines: notes.map((n) => `${n.line} ${n.key}`) };
}

function refusal(text: string): MosquittoConfError {
  try {
    convert(text);
  } catch (error) {
    if (error instanceof MosquittoConfError) return error;
    throw error;
  }
  throw new Error('expected a MosquittoConfError');
}

describe('listeners and security', () => {
  it('applies allow_anonymous, password_file and acl_file to every listener without per_listener_settings, wherever they stand', () => {
    const { loaded } = convert('listener 1883\nallow_anonymous true\nlistener 8883 127.0.0.1\npassword_file /etc/mosquitto/passwd\nacl_file /etc/mosquitto/acl\n');
    expect(loaded.broker.listeners.map((l) => [l.host, l.port, l.allow_anonymous])).toEqual([
      ['0.0.0.0', 1883, true],
      ['127.0.0.1', 8883, true],
    ]);
    expect(loaded.broker.password_file).toBe('/etc/mosquitto/passwd');
    expect(loaded.broker.acl_file).toBe('/etc/mosquitto/acl');
  });

  it("refuses anonymous clients on every listener when allow_anonymous is not set (mosquitto 2), loopback included", () => {
    const { loaded } = convert('listener 1883 127.0.0.1\n');
    expect(loaded.broker.listeners[0]!.allow_anonymous).toBe(false);
  });

  it('keeps allow_anonymous per listener with per_listener_settings', () => {
    const { loaded, noteLines } = convert(
      'per_listener_settings true\nlistener 1883 127.0.0.1\nallow_anonymous true\npassword_file /p\nlistener 1884\npassword_file /p\nacl_file /a\n',
    );
    expect(loaded.broker.listeners.map((l) => l.allow_anonymous)).toEqual([true, false]);
    expect(loaded.broker.password_file).toBe('/p');
    // The ACL file of the second listener now applies to the first too: said.
    expect(noteLines).toContain('7 acl_file');
  });

  it('notes password files that differ per listener and keeps the first', () => {
    const { loaded, noteLines } = convert('per_listener_settings true\nlistener 1883\npassword_file /one\nlistener 1884\npassword_file /two\n');
    expect(loaded.broker.password_file).toBe('/one');
    expect(noteLines).toContain('5 password_file');
  });

  it('refuses per_listener_settings after a security setting, as mosquitto does', () => {
    expect(refusal('allow_anonymous true\nper_listener_settings true\n').message).toBe(`${FILE}:2: per_listener_settings: must come before any other security setting (password_file, acl_file, allow_anonymous, plugins)`);
  });

  it('makes the TLS listener mqtts, a TLS websockets listener wss, and ignores client-certificate options on websockets', () => {
    const { loaded, noteLines } = convert(
      'listener 8883\ncafile /c/ca.crt\ncertfile /c/s.crt\nkeyfile /c/s.key\nrequire_certificate true\nuse_identity_as_username true\n' +
        'listener 8081\nprotocol websockets\ncertfile /c/s.crt\nkeyfile /c/s.key\nrequire_certificate true\n',
    );
    const [mqtts, wss] = loaded.broker.listeners;
    expect(mqtts).toMatchObject({ protocol: 'mqtts', tls: { cert_file: '/c/s.crt', key_file: '/c/s.key', ca_file: '/c/ca.crt', require_certificate: true, use_identity_as_username: true } });
    expect(wss).toMatchObject({ protocol: 'wss', path: '/mqtt', tls: { require_certificate: false } });
    expect(noteLines).toContain('11 require_certificate');
  });

  it('runs a listener with only a certfile without TLS, as mosquitto does, and says so', () => {
    const { loaded, noteLines } = convert('listener 8883\ncertfile /c/s.crt\n');
    expect(loaded.broker.listeners[0]!.protocol).toBe('mqtt');
    expect(noteLines).toContain('2 certfile');
  });

  it('does not turn a TLS-PSK listener into one without encryption', () => {
    const { loaded, noteLines } = convert('listener 1883\nlistener 8884\npsk_hint hint\npsk_file /p\n');
    expect(loaded.broker.listeners.map((l) => l.port)).toEqual([1883]);
    expect(noteLines).toEqual(expect.arrayContaining(['3 psk_hint', '4 psk_file']));
  });

  it("makes mosquitto's default listener from port and options before any listener line", () => {
    const { loaded } = convert('port 1884\nbind_address 127.0.0.1\nallow_anonymous true\n');
    expect(loaded.broker.listeners.map((l) => [l.host, l.port, l.allow_anonymous])).toEqual([['127.0.0.1', 1884, true]]);
  });

  it('listens on loopback with anonymous clients when no listener is configured (local only mode), allow_anonymous false notwithstanding', () => {
    const { loaded, noteLines } = convert('allow_anonymous false\npassword_file /p\n');
    expect(loaded.broker.listeners.map((l) => [l.host, l.port, l.allow_anonymous])).toEqual([['127.0.0.1', 1883, true]]);
    expect(noteLines).toContain('1 allow_anonymous');
  });
});

describe('global options', () => {
  it("writes out mosquitto's defaults where ours differ", () => {
    const { loaded } = convert('listener 1883\n');
    expect(loaded.broker).toMatchObject({ persistence: false, message_size_limit: 0, max_queued_messages: 1000, max_inflight_messages: 20, sys_interval: 10, max_keepalive: 65535, max_connections: -1 });
  });

  it('carries the limits and persistence, persistence_location as the state directory', () => {
    const { loaded, config } = convert(
      'listener 1883\nmax_connections 50\npersistence true\npersistence_location /var/lib/mosquitto/\nsys_interval 0\nmax_keepalive 120\nmessage_size_limit 1000\nmax_inflight_messages -1\nmax_queued_messages 5\n',
    );
    expect(loaded.broker).toMatchObject({ persistence: true, sys_interval: 0, max_keepalive: 120, message_size_limit: 1000, max_inflight_messages: 0, max_queued_messages: 5, max_connections: 50 });
    expect(config.gateway).toEqual({ state_dir: '/var/lib/mosquitto/' });
  });

  it('notes what it cannot carry and what it does not know, at their lines, and stays quiet about harmless values', () => {
    const { noteLines } = convert('listener 1883 127.0.0.1\nlog_dest stderr\nauth_plugin /usr/lib/x.so\nauth_opt_db x\nretain_available true\nretain_available false\nno_such_option 1\nmount_point foo/\n');
    expect(noteLines).toEqual(['2 log_dest', '3 auth_plugin', '4 auth_opt_db', '6 retain_available', '7 no_such_option', '8 mount_point']);
  });

  it('refuses values mosquitto refuses, naming file, line, option and what was expected', () => {
    expect(refusal('listener 1883\nallow_anonymous maybe\n').message).toBe(`${FILE}:2: allow_anonymous: expected true or false, got "maybe"`);
    expect(refusal('listener abc\n').message).toBe(`${FILE}:1: listener: expected a whole number, got "abc"`);
    expect(refusal('protocol mqttsn\n').message).toBe(`${FILE}:1: protocol: expected mqtt or websockets, got "mqttsn"`);
    expect(refusal('max_keepalive 5\n').message).toBe(`${FILE}:1: max_keepalive: expected 10 to 65535 seconds, got 5`);
    expect(refusal('password_file /a\npassword_file /b\n').message).toContain(`${FILE}:2: password_file: given twice`);
  });
});

describe('bridges', () => {
  const bridge = 'listener 1883\nconnection cloud\naddress broker.example.com:8883 [::1]:1883 fe80::1:1884\n';

  it('carries a connection block, with mosquitto defaults for the client id and the notification topic', () => {
    const { loaded, config } = convert(`${bridge}topic sensors/# OUT 1 # a comment\ntopic "" in 1 local/cmd remote/cmd\nbridge_cafile /c/ca.crt\nremote_username u\nremote_password p\nrestart_timeout 10\nkeepalive_interval 30\nbridge_protocol_version mqttv50\n`);
    expect(config.bridges![0]!.topics).toEqual(['sensors/# out 1', '"" in 1 local/cmd remote/cmd']);
    const b = loaded.bridges[0]!;
    expect(b.addresses).toEqual([
      { host: 'broker.example.com', port: 8883 },
      { host: '::1', port: 1883 },
      { host: 'fe80::1', port: 1884 },
    ]);
    expect(b).toMatchObject({
      connection: 'cloud',
      protocol_version: 'mqttv50',
      remote_clientid: 'raspberrypi.cloud',
      remote_username: 'u',
      remote_password: 'p',
      cleansession: false,
      notifications: true,
      notification_topic: '$SYS/broker/connection/raspberrypi.cloud/state',
      try_private: true,
      restart_timeout: 10,
      keepalive_interval: 30,
      tls: { cafile: '/c/ca.crt', insecure: false },
    });
  });

  it('refuses a bridge option outside a connection block, a bridge without topics, a bad topic line', () => {
    expect(refusal('listener 1883\ntopic a/# out 1\n').message).toBe(`${FILE}:2: topic: a bridge option outside a connection block (it must follow a "connection NAME" line)`);
    expect(refusal(`${bridge}`).message).toBe(`${FILE}:2: connection: bridge "cloud" has no topic line`);
    expect(refusal(`${bridge}topic "" out 1 local/\n`).message).toMatch(new RegExp(`^${FILE}:4: topic: `));
    expect(refusal(`${bridge}topic a out 1\naddress other:1883\n`).message).toContain(`${FILE}:5: address: the bridge already has its addresses`);
  });

  it('never puts the remote password in a note', () => {
    const { notes } = convert(`${bridge}topic # out\nremote_password s3cret-pass\nbridge_attempt_unsubscribe false\nround_robin true\nstart_type lazy\n`);
    expect(notes.length).toBeGreaterThan(0);
    expect(JSON.stringify(notes)).not.toContain('s3cret-pass');
  });
});
