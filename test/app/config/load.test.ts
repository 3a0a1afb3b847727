import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/app/config/errors.js';
import { configJsonSchema } from '../../../src/app/config/json-schema.js';
import { formatKeyPath, loadConfigFile, parseConfig } from '../../../src/app/config/load.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');

/** The ConfigError that parsing `text` throws. */
function configError(text: string, file = 'gw.yaml'): ConfigError {
  try {
    parseConfig(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('the config was accepted');
}

const yaml = (lines: string[]) => `${lines.join('\n')}\n`;

describe('parseConfig', () => {
  it('fills every default for an empty document', () => {
    for (const text of ['', '# only a comment\n', '{}\n']) {
      const config = parseConfig(text, 'empty.yaml');
      expect(config.gateway).toEqual({ id: 'pi-edge-gateway', base_topic: 'pi-edge', state_dir: './var' });
      expect(config.log).toEqual({ level: 'info' });
      expect(config.broker).toEqual({
        listeners: [],
        persistence: true,
        sys_interval: 10,
        max_connections: -1,
        message_size_limit: 1048576,
        max_incomplete_bytes: 16777216,
        max_keepalive: 65535,
        max_queued_messages: 1000,
        max_queued_bytes: 8388608,
        max_inflight_messages: 20,
        drain_timeout: 30,
      });
    }
  });

  it('fills listener and tls defaults and keeps what is given', () => {
    const config = parseConfig(
      yaml([
        '$schema: ../schema/config.schema.json',
        'gateway:',
        '  id: shed-pi',
        'broker:',
        '  listeners:',
        '    - port: 1883',
        '    - protocol: wss',
        '      host: 0.0.0.0',
        '      port: 8081',
        '      tls:',
        '        cert_file: certs/server.crt',
        '        key_file: certs/server.key',
        '  sys_interval: 0',
        '  persistence: false',
      ]),
      'gw.yaml',
    );
    expect(config.gateway.id).toBe('shed-pi');
    expect(config.broker.persistence).toBe(false);
    expect(config.broker.sys_interval).toBe(0);
    expect(config.broker.listeners).toEqual([
      { protocol: 'mqtt', host: '127.0.0.1', port: 1883, path: '/mqtt' },
      {
        protocol: 'wss',
        host: '0.0.0.0',
        port: 8081,
        path: '/mqtt',
        tls: { cert_file: 'certs/server.crt', key_file: 'certs/server.key', require_certificate: false, use_identity_as_username: false },
      },
    ]);
    // Not defaulted: the loopback/remote default is decided in toBrokerOptions.
    expect(config.broker.listeners[0]).not.toHaveProperty('allow_anonymous');
  });

  it('reports every problem at once, in one ConfigError naming the file, each key path and line', () => {
    const error = configError(
      yaml([
        'gateway:', //                   1
        '  id: "has/slash"', //          2
        'broker:', //                    3
        '  listeners:', //               4
        '    - protocol: mqtt', //       5
        '      port: 70000', //          6
        '    - protocol: ws', //         7
        '      port: "8080"', //         8
        '  sys_interval: -1', //         9
        '  persistence: "yes"', //      10
        'log:', //                      11
        '  level: loud', //             12
      ]),
      '/etc/pi-edge/gw.yaml',
    );
    expect(error.file).toBe('/etc/pi-edge/gw.yaml');
    expect(error.problems.map((p) => [p.key, p.line])).toEqual([
      ['gateway.id', 2],
      ['broker.listeners[0].port', 6],
      ['broker.listeners[1].port', 8],
      ['broker.sys_interval', 9],
      ['broker.persistence', 10],
      ['log.level', 12],
    ]);
    expect(error.message).toMatch(/^Invalid configuration \/etc\/pi-edge\/gw\.yaml \(6 problems\):/);
    expect(error.message).toContain('/etc/pi-edge/gw.yaml:6:13  broker.listeners[0].port:');
    expect(error.message).toContain('/etc/pi-edge/gw.yaml:12:10  log.level:');
    expect(error.message.split('\n')).toHaveLength(7);
  });

  it('type errors say what was expected', () => {
    const error = configError(yaml(['broker:', '  persistence: "yes"', '  listeners:', '    - port: "1883"', 'log:', '  level: loud']));
    const byKey = Object.fromEntries(error.problems.map((p) => [p.key, p.message]));
    expect(byKey['broker.persistence']).toMatch(/expected boolean, received string/);
    expect(byKey['broker.listeners[0].port']).toMatch(/expected number, received string/);
    expect(byKey['log.level']).toMatch(/expected one of "fatal", "error", "warn", "info"/);
  });

  it('a missing required key is reported at its parent, with its own path', () => {
    const error = configError(yaml(['broker:', '  listeners:', '    - host: 0.0.0.0']));
    expect(error.problems).toEqual([{ key: 'broker.listeners[0].port', line: 3, column: 7, message: expect.stringMatching(/expected number/) }]);
  });

  it('names each unknown key with its own path and line (not its parent)', () => {
    const error = configError(
      yaml([
        'gatway:', //                       1 (typo of gateway)
        '  id: x', //                       2
        'broker:', //                       3
        '  sys_intervall: 5', //            4
        '  listeners:', //                  5
        '    - port: 1883', //              6
        '      allow_anonymus: true', //    7
        '      proto: ws', //               8
        '    - {port: 8883, protocol: mqtts, tls: {cert_file: a, key_file: b, ca: c}}', // 9
      ]),
    );
    expect(error.problems.map((p) => [p.key, p.line, p.message])).toEqual([
      ['gatway', 1, 'unknown key "gatway"'],
      ['broker.sys_intervall', 4, 'unknown key "sys_intervall"'],
      ['broker.listeners[0].allow_anonymus', 7, 'unknown key "allow_anonymus"'],
      ['broker.listeners[0].proto', 8, 'unknown key "proto"'],
      ['broker.listeners[1].tls.ca', 9, 'unknown key "ca"'],
    ]);
    expect(error.problems[2]?.column).toBe(7);
    expect(error.problems[4]?.column).toBe(70);
  });

  it('cross-field rules on listeners: tls needed by mqtts/wss, only valid there, and its own dependencies', () => {
    const error = configError(
      yaml([
        'broker:', //                                 1
        '  listeners:', //                            2
        '    - protocol: mqtts', //                   3
        '      port: 8883', //                        4
        '    - protocol: wss', //                     5
        '      port: 8081', //                        6
        '    - protocol: mqtt', //                    7
        '      port: 1883', //                        8
        '      tls: {cert_file: a, key_file: b}', //  9
        '    - protocol: mqtts', //                   10
        '      port: 8884', //                        11
        '      tls:', //                              12
        '        cert_file: a', //                    13
        '        key_file: b', //                     14
        '        require_certificate: true', //       15
        '        use_identity_as_username: true', //  16
        '    - protocol: mqtts', //                   17
        '      port: 8885', //                        18
        '      tls:', //                              19
        '        cert_file: a', //                    20
        '        key_file: b', //                     21
        '        ca_file: ca.crt', //                 22
        '        use_identity_as_username: true', //  23
      ]),
    );
    expect(error.problems.map((p) => [p.key, p.line])).toEqual([
      ['broker.listeners[0].tls', 3],
      ['broker.listeners[1].tls', 5],
      ['broker.listeners[2].tls', 9],
      ['broker.listeners[3].tls.ca_file', 13],
      ['broker.listeners[4].tls.use_identity_as_username', 23],
    ]);
    const messages = error.problems.map((p) => p.message);
    expect(messages[0]).toMatch(/mqtts listener needs tls\.cert_file and tls\.key_file/);
    expect(messages[1]).toMatch(/wss listener needs tls/);
    expect(messages[2]).toMatch(/only valid with protocol mqtts or wss, not mqtt/);
    expect(messages[3]).toMatch(/require_certificate needs a ca_file/);
    expect(messages[4]).toMatch(/use_identity_as_username needs require_certificate: true/);
  });

  it('YAML syntax errors carry the line, and stop before validation', () => {
    const unclosed = configError(yaml(['gateway:', '  id: x', 'broker:', '  listeners: [', '  sys_interval: nope']));
    expect(unclosed.problems.length).toBeGreaterThan(0);
    expect(unclosed.problems.every((p) => p.key === '' && p.message.startsWith('YAML syntax:'))).toBe(true);
    expect(unclosed.problems[0]?.line).toBeGreaterThanOrEqual(4);

    const tabs = configError('broker:\n\tpersistence: false\n');
    expect(tabs.problems[0]).toMatchObject({ key: '', line: 2, message: expect.stringMatching(/YAML syntax: .*tab/i) });

    const duplicate = configError(yaml(['broker:', '  persistence: true', '  persistence: false']));
    expect(duplicate.problems[0]).toMatchObject({ line: 3, message: expect.stringMatching(/unique/) });
    expect(duplicate.message).toContain('gw.yaml:3:3  (document): YAML syntax:');
  });

  it('a document that is not a mapping is one problem on line 1', () => {
    expect(configError('- a\n- b\n').problems).toEqual([{ key: '', line: 1, column: 1, message: 'expected object, received array' }]);
    expect(configError('broker: 5\n').problems).toEqual([{ key: 'broker', line: 1, column: 9, message: 'expected object, received number' }]);
  });

  it('formatKeyPath', () => {
    expect(formatKeyPath([])).toBe('');
    expect(formatKeyPath(['broker', 'listeners', 0, 'tls', 'cert_file'])).toBe('broker.listeners[0].tls.cert_file');
    expect(formatKeyPath([2, 'a'])).toBe('[2].a');
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, remove } = await makeTempDir('pi-edge-config-'));
  });
  afterEach(() => remove());

  it('returns the absolute file, its directory and the validated config', async () => {
    const file = path.join(dir, 'gw.yaml');
    await writeFile(file, yaml(['broker:', '  listeners:', '    - port: 1884']));
    const relative = path.relative(process.cwd(), file);
    const loaded = await loadConfigFile(relative);
    expect(loaded.file).toBe(file);
    expect(loaded.baseDir).toBe(dir);
    expect(loaded.config.broker.listeners[0]?.port).toBe(1884);
  });

  it('a missing file is a ConfigError naming the file', async () => {
    const file = path.join(dir, 'nope.yaml');
    const error = await loadConfigFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).file).toBe(file);
    expect((error as ConfigError).message).toContain(`${file}  (document): cannot read the config: file not found`);
  });

  it('a directory is a ConfigError too, not a crash', async () => {
    await expect(loadConfigFile(dir)).rejects.toThrow(ConfigError);
  });

  it('validation errors name the file as given', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, yaml(['broker:', '  bogus: 1']));
    await expect(loadConfigFile(file)).rejects.toThrow(`${file}:2:3  broker.bogus: unknown key "bogus"`);
  });
});

describe('shipped configuration', () => {
  const configDir = path.join(repoRoot, 'config');
  const shipped = readdirSync(configDir).filter((f) => /\.ya?ml$/.test(f));

  it('there is at least one example config', () => {
    expect(shipped.length).toBeGreaterThan(0);
  });

  it.each(shipped)('config/%s is valid', async (name) => {
    await expect(loadConfigFile(path.join(configDir, name))).resolves.toMatchObject({ config: { broker: expect.any(Object) } });
  });

  it('configJsonSchema() is a JSON Schema with the top-level sections', () => {
    const schema = configJsonSchema() as { $schema?: string; type?: string; properties?: Record<string, { properties?: Record<string, unknown> }>; title?: string };
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(schema.type).toBe('object');
    expect(schema.title).toBe('pi-edge-gateway configuration');
    expect(Object.keys(schema.properties ?? {})).toEqual(expect.arrayContaining(['gateway', 'log', 'broker']));
    expect(Object.keys(schema.properties?.broker?.properties ?? {})).toEqual(expect.arrayContaining(['listeners', 'password_file', 'acl_file', 'sys_interval']));
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  const schemaFile = path.join(repoRoot, 'schema', 'config.schema.json');
  it.skipIf(!existsSync(schemaFile))('schema/config.schema.json is up to date (npm run schema)', () => {
    expect(JSON.parse(readFileSync(schemaFile, 'utf8'))).toEqual(configJsonSchema());
  });
});
