import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/app/config/errors.js';
import { parseConfig } from '../../src/app/config/load.js';
import { hashPassword } from '../../src/broker/auth/password-file.js';
import { createLogger } from '../../src/util/logger.js';
import { startGatewayUnderTest, type GatewayUnderTest } from '../helpers/gateway.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const LED = `outputs:
  - { name: led, pin: 27, initial: off }
`;

/** A gateway with an LED, the page served with `access`, a password file (alice, bob) and an ACL (only alice switches). */
async function startWith(access: string, logLines?: string[]): Promise<{ gw: GatewayUnderTest; base: string }> {
  const dir = await makeTempDir('pi-edge-web-access-');
  cleanups.push(dir.remove);
  const passwords = path.join(dir.dir, 'passwd');
  await writeFile(passwords, `alice:${await hashPassword('wonderland', { iterations: 10 })}\nbob:${await hashPassword('builder', { iterations: 10 })}\n`);
  const acl = path.join(dir.dir, 'acl');
  await writeFile(acl, 'user alice\ntopic readwrite test/#\n\nuser bob\ntopic read test/#\n');
  const logger = logLines ? createLogger({ level: 'info' }, { write: (line: string) => void logLines.push(line) }) : undefined;
  const gw = await startGatewayUnderTest(
    `${LED}http: { port: 0, web: { access: ${access} } }\n`,
    { broker: [`password_file: ${JSON.stringify(passwords)}`, `acl_file: ${JSON.stringify(acl)}`], ...(logger ? { logger } : {}) },
  );
  cleanups.push(() => gw.stop());
  return { gw, base: `http://127.0.0.1:${gw.running.http!.port()}` };
}

const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const toggle = (base: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/api/command`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ output: 'led', state: 'TOGGLE' }) });

describe('who may see the page and switch outputs (http.web.access)', () => {
  it('login: 401 without or with a wrong password, the page and toggles for a user of the broker password file, the ACL applies, no password logged', async () => {
    const lines: string[] = [];
    const { gw, base } = await startWith('login', lines);
    const anonymous = await fetch(`${base}/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="pi-edge-gateway"/);
    expect((await fetch(`${base}/api/events`, { headers: basic('alice', 'wrong') })).status).toBe(401);
    expect((await fetch(`${base}/api/state`, { headers: basic('nobody', 'wonderland') })).status).toBe(401);
    // /healthz and /metrics stay open to the scraper.
    expect((await fetch(`${base}/healthz`)).status).toBeLessThan(500);

    const page = await fetch(`${base}/`, { headers: basic('alice', 'wonderland') });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    const state = (await (await fetch(`${base}/api/state`, { headers: basic('bob', 'builder') })).json()) as { visitor: unknown; devices: { name: string }[] };
    expect(state.visitor).toEqual({ username: 'bob', mayCommand: true });
    expect(state.devices.map((d) => d.name)).toEqual(['led']);

    // bob may read test/# but not write: the page does what his MQTT client could.
    const refused = await toggle(base, basic('bob', 'builder'));
    expect(refused.status).toBe(403);
    expect(gw.gpio.level(27)).toBe(0);
    const applied = await toggle(base, basic('alice', 'wonderland'));
    expect(applied.status).toBe(200);
    expect(await applied.json()).toMatchObject({ ok: true, outputs: { led: 'ON' }, topic: 'test/led/set' });
    expect(gw.gpio.level(27)).toBe(1);

    const log = lines.join('');
    expect(log).toContain('page login refused');
    expect(log).not.toContain('wrong');
    expect(log).not.toContain('wonderland');
  });

  it('read_only: no login, the state is there, toggles are refused', async () => {
    const { gw, base } = await startWith('read_only');
    const state = (await (await fetch(`${base}/api/state`)).json()) as { visitor: unknown };
    expect(state.visitor).toEqual({ mayCommand: false });
    const refused = await toggle(base);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ ok: false, error: { code: 'read_only' } });
    expect(gw.gpio.level(27)).toBe(0);
  });

  it('open: refuses a cross-site form post, a non-JSON body and a bad command; answers the gateway\'s refusal', async () => {
    const { gw, base } = await startWith('open');
    expect((await toggle(base, { Origin: 'http://evil.example' })).status).toBe(403);
    const form = await fetch(`${base}/api/command`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'output=led&state=ON' });
    expect(form.status).toBe(415);
    const bad = await fetch(`${base}/api/command`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"output":"led","state":"BLINK"}' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { message: '"state": expected ON, OFF, TOGGLE' } });
    // An output the gateway does not have: the gateway's own answer, as an MQTT client would get it.
    const unknown = await fetch(`${base}/api/command`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"output":"relay","state":"ON"}' });
    expect(unknown.status).toBe(409);
    expect(await unknown.json()).toMatchObject({ ok: false, error: { code: 'unknown_output' }, topic: 'test/relay/set' });
    expect(gw.gpio.level(27)).toBe(0);
    // Timed: on for 1 s, then back off by itself.
    const timed = await fetch(`${base}/api/command`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: base }, body: '{"output":"led","state":"ON","duration":1}' });
    expect(timed.status).toBe(200);
    expect(gw.gpio.level(27)).toBe(1);
    await expect.poll(() => gw.gpio.level(27), { timeout: 10_000 }).toBe(0);
  });
});

describe('the http.web config', () => {
  it('defaults to the page on, auto access, a 5 s update interval', () => {
    expect(parseConfig('http: {}\n', 'a.yaml').http?.web).toEqual({ enabled: true, access: 'auto', update_interval: 5_000 });
  });

  it('refuses a login (auto off loopback, or asked) without broker.password_file, naming the file, line and key', () => {
    let error: unknown;
    try {
      parseConfig(['gateway: { id: a }', 'http:', '  host: 0.0.0.0', '  web:', '    access: auto', ''].join('\n'), '/etc/pi-edge/gw.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toMatchObject([{ key: 'http.web.access', line: 5 }]);
    expect((error as Error).message).toContain('/etc/pi-edge/gw.yaml:5');
    expect((error as Error).message).toContain('needs broker.password_file');
    expect(parseConfig('http: { host: 0.0.0.0, web: { access: read_only } }\n', 'a.yaml').http?.web.access).toBe('read_only');
    expect(() => parseConfig('http: { web: { access: login } }\n', 'a.yaml')).toThrow(/http\.web\.access: login needs broker\.password_file/);
  });
});
