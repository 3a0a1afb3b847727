import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/app/config/load.js';
import { ConfigError } from '../../src/app/config/errors.js';
import { DEFAULT_HTTP_PORT } from '../../src/http/config.js';

describe('the http: and health: sections', () => {
  it('has no HTTP server without the section, and loopback on the default port with an empty one', () => {
    expect(parseConfig('gateway: { id: a }\n', 'a.yaml').http).toBeUndefined();
    expect(parseConfig('http: {}\n', 'a.yaml').http).toEqual({ enabled: true, host: '127.0.0.1', port: DEFAULT_HTTP_PORT, web: { enabled: true, access: 'auto', update_interval: 5_000 } });
    expect(parseConfig('http: { enabled: false }\n', 'a.yaml').http?.enabled).toBe(false);
  });

  it('publishes the health topic by default, checked every 5 s, on the mode\'s topic unless one is given', () => {
    expect(parseConfig('gateway: { id: a }\n', 'a.yaml').health).toEqual({ enabled: true, interval: 5_000 });
    expect(parseConfig('health: { topic: site/health, interval: 500ms }\n', 'a.yaml').health).toEqual({ enabled: true, topic: 'site/health', interval: 500 });
  });

  it('reports a bad port, host, key, topic or interval with the file, line and key', () => {
    let error: unknown;
    try {
      parseConfig(['http:', '  port: 70000', '  host: ""', '  tls: true', 'health:', "  topic: 'a/#'", '  interval: soon', ''].join('\n'), '/etc/pi-edge/gw.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => [p.key, p.line]);
    expect(problems).toEqual([
      ['http.port', 2],
      ['http.host', 3],
      ['http.tls', 4],
      ['health.topic', 6],
      ['health.interval', 7],
    ]);
    expect((error as Error).message).toContain('/etc/pi-edge/gw.yaml:2:9  http.port:');
  });
});
