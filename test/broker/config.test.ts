import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LISTENER } from '../../src/broker/options.js';
import { toBrokerOptions } from '../../src/broker/config.js';
import { parseConfig } from '../../src/app/config/load.js';

const baseDir = path.resolve('/etc/pi-edge');
const options = (text: string) => {
  const config = parseConfig(text, 'gw.yaml');
  return toBrokerOptions(config.broker, { id: config.gateway.id, stateDir: config.gateway.state_dir, baseDir, version: '1.2.3' });
};

describe('toBrokerOptions', () => {
  it('no listeners: 127.0.0.1:1883, anonymous allowed, like Mosquitto 2', () => {
    const result = options('gateway:\n  id: shed\n');
    expect(result.listeners).toEqual([{ protocol: 'mqtt', host: '127.0.0.1', port: 1883, path: '/mqtt', allowAnonymous: true }]);
    expect(result.id).toBe('shed');
    expect(result.version).toBe('1.2.3');
    expect(result.passwordFile).toBeUndefined();
    expect(result.aclFile).toBeUndefined();
    expect(result.sysIntervalSeconds).toBe(10);
    expect(result.limits).toEqual({
      maxConnections: -1,
      messageSizeLimit: 1048576,
      maxIncompleteBytes: 16 * 1024 * 1024,
      maxKeepalive: 65535,
      maxQueuedMessages: 1000,
      maxQueuedBytes: 8 * 1024 * 1024,
      maxInflightMessages: 20,
      drainTimeoutMs: 30_000,
    });
  });

  it('the default listener is a copy: changing the result does not change the next one', () => {
    const first = options('');
    first.listeners[0]!.port = 1;
    first.listeners[0]!.allowAnonymous = false;
    expect(options('').listeners[0]).toMatchObject({ port: 1883, allowAnonymous: true });
    expect(DEFAULT_LISTENER).toMatchObject({ port: 1883, allowAnonymous: true });
  });

  it.each([
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.10', false],
    ['127.0.0.1', true],
    ['127.0.1.1', true],
    ['localhost', true],
    ['::1', true],
  ])('a listener on %s without allow_anonymous: allowAnonymous %s', (host, expected) => {
    const result = options(`broker:\n  listeners:\n    - host: "${host}"\n      port: 1883\n`);
    expect(result.listeners[0]?.allowAnonymous).toBe(expected);
  });

  it('an explicit allow_anonymous is honoured either way', () => {
    const result = options(
      [
        'broker:',
        '  listeners:',
        '    - {host: 0.0.0.0, port: 1883, allow_anonymous: true}',
        '    - {host: 127.0.0.1, port: 1884, allow_anonymous: false}',
      ].join('\n'),
    );
    expect(result.listeners.map((l) => l.allowAnonymous)).toEqual([true, false]);
  });

  it('relative password_file, acl_file and TLS files are resolved against the config directory; absolute ones kept', () => {
    const result = options(
      [
        'broker:',
        '  password_file: passwd',
        '  acl_file: /etc/mosquitto/acl',
        '  listeners:',
        '    - protocol: mqtts',
        '      port: 8883',
        '      tls:',
        '        cert_file: certs/server.crt',
        '        key_file: ../keys/server.key',
        '        ca_file: ca.crt',
        '        require_certificate: true',
        '        use_identity_as_username: true',
        '    - protocol: ws',
        '      port: 8080',
        '      path: /ws',
      ].join('\n'),
    );
    expect(result.passwordFile).toBe(path.join(baseDir, 'passwd'));
    expect(result.aclFile).toBe(path.resolve('/etc/mosquitto/acl'));
    expect(result.listeners[0]).toEqual({
      protocol: 'mqtts',
      host: '127.0.0.1',
      port: 8883,
      path: '/mqtt',
      allowAnonymous: true,
      tls: {
        certFile: path.join(baseDir, 'certs/server.crt'),
        keyFile: path.resolve(baseDir, '../keys/server.key'),
        caFile: path.join(baseDir, 'ca.crt'),
        requireCertificate: true,
        useIdentityAsUsername: true,
      },
    });
    expect(result.listeners[1]).toEqual({ protocol: 'ws', host: '127.0.0.1', port: 8080, path: '/ws', allowAnonymous: true, tls: undefined });
  });

  it('persistence: the directory is state_dir/broker, resolved against the config directory', () => {
    expect(options('').persistenceDir).toBe(path.join(baseDir, 'var', 'broker'));
    expect(options('gateway:\n  state_dir: ../state\n').persistenceDir).toBe(path.resolve(baseDir, '../state/broker'));
    expect(options('gateway:\n  state_dir: /var/lib/pi-edge\n').persistenceDir).toBe(path.resolve('/var/lib/pi-edge/broker'));
  });

  it('persistence: false keeps everything in memory', () => {
    expect(options('broker:\n  persistence: false\n').persistenceDir).toBeUndefined();
  });

  it('limits and sys_interval are carried over, drain_timeout in milliseconds', () => {
    const result = options(
      [
        'broker:',
        '  sys_interval: 0',
        '  max_connections: 50',
        '  message_size_limit: 65536',
        '  max_keepalive: 120',
        '  max_queued_messages: 1000',
        '  drain_timeout: 2.5',
      ].join('\n'),
    );
    expect(result.sysIntervalSeconds).toBe(0);
    expect(result.limits).toEqual({
      maxConnections: 50,
      messageSizeLimit: 65536,
      maxIncompleteBytes: 16 * 1024 * 1024,
      maxKeepalive: 120,
      maxQueuedMessages: 1000,
      maxQueuedBytes: 8 * 1024 * 1024,
      maxInflightMessages: 20,
      drainTimeoutMs: 2500,
    });
  });
});
