import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runUntilSignalled } from '../../src/cli/signals.js';
import { silentLogger } from '../../src/util/logger.js';
import { collect, connectClient, settle, subackCodes } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { freePort } from '../helpers/free-port.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const hasTsx = existsSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'));

interface Cli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout + stderr match `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/** `node --import tsx src/cli/main.ts ...args`, from the repository root. */
function cli(args: string[]): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  running.add(child);
  let out = '';
  let err = '';
  const watchers = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of watchers) w();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of watchers) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput(pattern, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out + err)) {
            watchers.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`timed out waiting for ${pattern} in:\n${out}${err}`));
        }, timeoutMs);
        watchers.add(check);
        void exited.then(() => {
          if (watchers.has(check)) {
            watchers.delete(check);
            clearTimeout(timer);
            reject(new Error(`exited before ${pattern} appeared:\n${out}${err}`));
          }
        });
        check();
      });
    },
  };
}

/** Runs the CLI to its end. */
async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = cli(args);
  const { code } = await c.exited;
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}


// Each test starts the CLI under tsx, which compiles the sources first: slow when CI runs the whole suite on 2 cores.
describe.skipIf(!hasTsx)('pi-edge-gateway CLI', { timeout: 180_000 }, () => {
  let dir: string;
  let remove: () => Promise<void>;
  const clients: MqttClient[] = [];

  beforeEach(async () => {
    ({ dir, remove } = await makeTempDir('pi-edge-cli-'));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    for (const child of running) child.kill('SIGKILL');
    await remove();
  });

  async function writeConfig(name: string, lines: string[]): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, `${lines.join('\n')}\n`);
    return file;
  }

  it('check --config on a valid file exits 0', async () => {
    const file = await writeConfig('good.yaml', ['gateway:', '  id: test-gw', 'broker:', '  listeners:', '    - port: 1883']);
    const result = await runCli(['check', '--config', file]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(`${file}: valid\n`);
  });

  it('check on a broken file exits 78 (EX_CONFIG) with file, key and line on stderr', async () => {
    const file = await writeConfig('bad.yaml', ['broker:', '  listeners:', '    - port: 99999', '  sys_intervall: 5']);
    const result = await runCli(['check', '-c', file]);
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`Invalid configuration ${file} (2 problems):`);
    expect(result.stderr).toContain(`${file}:3:13  broker.listeners[0].port:`);
    expect(result.stderr).toContain(`${file}:4:3  broker.sys_intervall: unknown key "sys_intervall"`);
  });

  it('a missing config file exits 78 too', async () => {
    const file = path.join(dir, 'missing.yaml');
    const result = await runCli(['broker', '--config', file]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(`${file}  (document): cannot read the config: file not found`);
  });

  it('an unknown command exits 2 with the usage', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"[\s\S]*Usage: pi-edge-gateway/);
  });

  it('COMMAND --help and help COMMAND print the page with its examples and exit 0', async () => {
    const viaFlag = await runCli(['broker', '--help']);
    expect(viaFlag.code).toBe(0);
    expect(viaFlag.stdout).toMatch(/^Usage: pi-edge-gateway broker --config FILE[\s\S]*Examples:[\s\S]*Exit codes:/);
    const viaHelp = await runCli(['help', 'certs']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toContain('Usage: pi-edge-gateway certs');
  });

  it('a missing --config exits 2', async () => {
    const noConfig = await runCli(['check']);
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toContain('--config FILE is required');
  });

  it('broker: serves MQTT, and SIGTERM stops it with exit code 0', async () => {
    const port = await freePort();
    const file = await writeConfig('broker.yaml', ['gateway:', '  state_dir: state', 'broker:', '  sys_interval: 0', '  listeners:', `    - port: ${port}`]);
    const broker = cli(['broker', '--config', file]);
    await broker.waitForOutput(/"msg":"listening"/);
    expect(broker.stdout()).toContain(`"listener":"mqtt://127.0.0.1:${port}"`);

    const client = await connectClient(`mqtt://127.0.0.1:${port}`);
    clients.push(client);
    const inbox = collect(client);
    await client.subscribeAsync('cli/test', { qos: 1 });
    await client.publishAsync('cli/test', 'through the CLI broker', { qos: 1 });
    expect((await inbox.waitFor(1))[0]?.payload).toBe('through the CLI broker');
    // persistence defaults to on, under state_dir/broker next to the config
    expect(existsSync(path.join(dir, 'state', 'broker'))).toBe(true);

    const started = Date.now();
    broker.child.kill('SIGTERM');
    expect(await broker.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(broker.stdout()).toMatch(/"msg":"broker stopped"/);
    expect(broker.stderr()).toBe('');
  });

  it('--log-level overrides the config file: debug lines appear, and a bad level is a usage error', async () => {
    const port = await freePort();
    const file = await writeConfig('debug.yaml', ['log: { level: warn }', 'gateway:', '  state_dir: state', 'broker:', '  sys_interval: 0', '  listeners:', `    - port: ${port}`]);
    const broker = cli(['broker', '--config', file, '--log-level', 'debug']);
    await broker.waitForOutput(/"level":20,/);
    broker.child.kill('SIGTERM');
    expect(await broker.exited).toEqual({ code: 0, signal: null });
    const bad = await runCli(['broker', '--config', file, '--log-level', 'loud']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--log-level: one of fatal, error, warn, info, debug, trace, silent');
  });

  it('broker: SIGHUP reloads the ACL file without dropping connected clients; a broken file keeps the old rules', async () => {
    const port = await freePort();
    const acl = path.join(dir, 'acl');
    await writeFile(acl, 'topic readwrite sensors/#\n');
    const file = await writeConfig('broker.yaml', [
      'broker:',
      '  persistence: false',
      '  sys_interval: 0',
      '  acl_file: acl',
      '  listeners:',
      `    - port: ${port}`,
    ]);
    const broker = cli(['broker', '--config', file]);
    await broker.waitForOutput(/"msg":"listening"/);

    const client = await connectClient(`mqtt://127.0.0.1:${port}`);
    clients.push(client);
    let reconnects = 0;
    client.on('close', () => reconnects++);
    const inbox = collect(client);
    expect(await subackCodes(client, ['sensors/#', 'cmd/#'], 1)).toEqual([1, 128]);

    await writeFile(acl, 'topic readwrite sensors/#\ntopic readwrite cmd/#\n');
    broker.child.kill('SIGHUP');
    await broker.waitForOutput(/"msg":"password and ACL files reloaded"/);

    expect(await subackCodes(client, ['cmd/#'], 1)).toEqual([1]);
    await client.publishAsync('cmd/relay', 'on', { qos: 1 });
    expect((await inbox.waitFor(1))[0]).toMatchObject({ topic: 'cmd/relay', payload: 'on' });

    // A broken ACL on the next SIGHUP: logged, the previous rules stay, the client stays.
    await writeFile(acl, 'topic readwrite cmd/#\nthis is not an acl line\n');
    broker.child.kill('SIGHUP');
    await broker.waitForOutput(/reload failed, keeping the previous file/);
    await client.publishAsync('sensors/t', '20', { qos: 1 });
    expect((await inbox.waitFor(2))[1]).toMatchObject({ topic: 'sensors/t', payload: '20' });

    await settle(50);
    expect(reconnects).toBe(0);
    expect(client.connected).toBe(true);
    broker.child.kill('SIGTERM');
    expect((await broker.exited).code).toBe(0);
  });

  it('broker: a port already in use exits 1 and says so', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as net.AddressInfo;
      const file = await writeConfig('busy.yaml', ['broker:', '  persistence: false', '  listeners:', `    - port: ${port}`]);
      const result = await runCli(['broker', '--config', file]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`listener mqtt://127.0.0.1:${port} cannot start`);
      expect(result.stderr).toMatch(/EADDRINUSE.*another broker/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe('runUntilSignalled', () => {
  afterEach(() => {
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.removeAllListeners(signal);
    vi.restoreAllMocks();
  });

  it('SIGTERM stops the service and resolves 0; SIGHUP before it reloads', async () => {
    const service = { stop: vi.fn(() => Promise.resolve()), reload: vi.fn(() => Promise.resolve()) };
    const done = runUntilSignalled(service, silentLogger());
    process.emit('SIGHUP');
    expect(service.reload).toHaveBeenCalledTimes(1);
    process.emit('SIGTERM');
    await expect(done).resolves.toBe(0);
    expect(service.stop).toHaveBeenCalledTimes(1);
    process.emit('SIGHUP');
    expect(service.reload).toHaveBeenCalledTimes(1);
  });

  it('a failed stop resolves 1, so the CLI exits non-zero', async () => {
    const done = runUntilSignalled({ stop: () => Promise.reject(new Error('flush failed')) }, silentLogger());
    process.emit('SIGINT');
    await expect(done).resolves.toBe(1);
  });

  it('a second signal a while after the first forces exit 1 (the same signal twice too)', () => {
    vi.useFakeTimers();
    try {
      const exit = vi.spyOn(process, 'exit').mockImplementation(() => undefined as never);
      void runUntilSignalled({ stop: () => new Promise<void>(() => undefined) }, silentLogger());
      process.emit('SIGTERM');
      vi.advanceTimersByTime(1500);
      expect(exit).not.toHaveBeenCalled();
      process.emit('SIGTERM');
      expect(exit).toHaveBeenCalledWith(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('ignores the copies of one Ctrl-C that npm and tsx relay', () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    void runUntilSignalled({ stop: () => new Promise<void>(() => undefined) }, silentLogger());
    process.emit('SIGINT');
    process.emit('SIGINT');
    process.emit('SIGINT');
    expect(exit).not.toHaveBeenCalled();
  });
});
