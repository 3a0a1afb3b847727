import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatewayNodeArgs, gatewayNodeEnv } from '../node-flags.js';
import { stopChild } from '../../test/helpers/child-stop.js';

export type HostileBrokerKind = 'ours' | 'mosquitto';

export const MOSQUITTO = '/usr/sbin/mosquitto';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The limits both brokers are given, in each one's own words. */
export interface HostileLimits {
  maxConnections?: number;
}

export interface HostileBroker {
  kind: HostileBrokerKind;
  pid: number;
  port: number;
  wsPort: number;
  /** VmRSS in bytes. */
  rss(): number;
  /** What the broker wrote to stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

/**
 * Our broker as the `pi-edge-gateway broker` command runs it (the node flags of its first line), or Debian's
 * mosquitto 2, each with a TCP and a WebSocket listener on loopback and anonymous clients allowed; defaults for
 * everything else but `limits`.
 */
export async function startHostileBroker(kind: HostileBrokerKind, limits: HostileLimits = {}): Promise<HostileBroker> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `hostile-${kind}-`));
  const [port, wsPort] = [await freePort(), await freePort()];
  let file: string;
  let args: string[];
  let env: Record<string, string> = {};
  if (kind === 'mosquitto') {
    const conf = path.join(dir, 'mosquitto.conf');
    await writeFile(
      conf,
      [
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        // max_connections is a per-listener setting in mosquitto 2: it belongs to the listener line above it.
        `listener ${port} 127.0.0.1`,
        ...(limits.maxConnections === undefined ? [] : [`max_connections ${limits.maxConnections}`]),
        `listener ${wsPort} 127.0.0.1`,
        'protocol websockets',
        'allow_anonymous true',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n'),
    );
    file = MOSQUITTO;
    args = ['-c', conf];
  } else {
    const config = path.join(dir, 'broker.yaml');
    await writeFile(
      config,
      [
        'gateway:',
        `  state_dir: ${dir}/state`,
        'broker:',
        '  sys_interval: 0',
        ...(limits.maxConnections === undefined ? [] : [`  max_connections: ${limits.maxConnections}`]),
        '  listeners:',
        `    - { host: 127.0.0.1, port: ${port} }`,
        `    - { protocol: ws, host: 127.0.0.1, port: ${wsPort} }`,
        '',
      ].join('\n'),
    );
    env = gatewayNodeEnv(ROOT);
    file = process.execPath;
    args = [...gatewayNodeArgs(ROOT), 'broker', '--config', config];
  }
  let output = '';
  const child = spawn(file, args, { cwd: kind === 'ours' ? ROOT : dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } });
  child.stdout.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-200_000)));
  child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-200_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: wsPort }, () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`${kind} did not start:\n${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const pid = child.pid!;
  return {
    kind,
    pid,
    port,
    wsPort,
    rss: () => rssOf(pid),
    output: () => output,
    async stop() {
      await stopChild(child, exited);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Samples a process's RSS every 20 ms: the peak an attack caused. */
export function rssSampler(pid: number): { stop(): number } {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // the process is gone; stop() reports what was seen
    }
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      try {
        return Math.max(peak, rssOf(pid));
      } catch {
        return peak;
      }
    },
  };
}

/** RSS once an attack's sockets are closed, given up to `waitMs` to come back within `withinBytes` of `start`. */
export async function settledRss(pid: number, start: number, withinBytes: number, waitMs = 10_000): Promise<number> {
  let rss = rssOf(pid);
  const deadline = Date.now() + waitMs;
  while (rss - start > withinBytes && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    rss = rssOf(pid);
  }
  return rss;
}
