/**
 * The processes of the bridge bench: the "cloud" mosquitto, and on the gateway side either our gateway (the CLI's
 * `broker` mode with a `bridges:` entry) or mosquitto with its own `connection` block. Every process and temp dir
 * is registered in `cleanups` and removed by `cleanupAll()`, which run.ts calls on exit, on failure and on signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, freePort, MOSQUITTO, rssKiB } from '../broker/brokers.js';
import { gatewayNodeArgs, gatewayNodeEnv } from '../node-flags.js';
import { startMosquitto, type MosquittoBroker } from '../../test/helpers/mosquitto-broker.js';
import { stopChild } from '../../test/helpers/child-stop.js';

export type Side = 'ours' | 'mosquitto';
export type Durability = 'fsync' | 'write';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const cleanups = new Set<() => Promise<void>>();

/** Runs every registered cleanup (processes first: they were registered after their dirs). */
export async function cleanupAll(): Promise<void> {
  // Each cleanup unregisters itself as it runs (register()).
  for (const cleanup of [...cleanups].reverse()) await cleanup().catch(() => undefined);
}

/** Registers a cleanup for cleanupAll(); returns it, run-once and unregistered when run. */
export function register(cleanup: () => Promise<void>): () => Promise<void> {
  const once = async () => {
    if (!cleanups.delete(once)) return;
    await cleanup();
  };
  cleanups.add(once);
  return once;
}

/** The cloud: a mosquitto with persistence (sessions and queued messages survive stop() and start()). */
export interface Cloud extends MosquittoBroker {
  /** Times the cloud was stopped and started again, for the report. */
  restarts: number;
}

export async function startCloud(): Promise<Cloud> {
  // max_queued_messages 0: no limit, so that the cloud never drops what it owes the bench's subscriber (its default
  // of 1,000 would, while the subscriber reconnects); set_tcp_nodelay as in bench/broker.
  const broker = await startMosquitto(['allow_anonymous true', 'max_queued_messages 0', 'set_tcp_nodelay true'], { persistence: true });
  const remove = register(() => broker.remove());
  const cloud: Cloud = {
    ...broker,
    restarts: 0,
    start: async () => {
      await broker.start();
      cloud.restarts++;
    },
    remove,
  };
  return cloud;
}

/** A gateway-side process: ours or mosquitto, with a bridge to the cloud. */
export interface Gateway {
  side: Side;
  port: number;
  pid: number;
  /** The bridge's client id on the cloud. */
  remoteClientId: string;
  command: string;
  cpuSeconds(): Promise<number>;
  rssKiB(): Promise<number>;
  /** SIGTERM (SIGKILL after 10 s), then removes its dir. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** The last lines of its output. */
  log(): Promise<string>;
}

export interface GatewayOptions {
  cloudPort: number;
  remoteClientId: string;
  /** Seconds between reconnect attempts, the same constant for both sides (mosquitto's `restart_timeout`). */
  restartTimeout: number;
  durability: Durability;
  drain: 'in_order' | 'live_first';
  /** mosquitto's max_queued_messages on the gateway side; undefined: its default (1,000). */
  mosquittoMaxQueued?: number;
}

export async function startGateway(side: Side, options: GatewayOptions): Promise<Gateway> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `bench-bridge-${side}-`));
  const removeDir = register(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  let file: string;
  let args: string[];
  if (side === 'mosquitto') {
    const conf = path.join(dir, 'mosquitto.conf');
    // As a user would run it: mosquitto's defaults but for the listener and the bridge's few lines. Note what its
    // defaults are: persistence off, max_queued_messages 1000 (also for the bridge's queue), restart_timeout 5 30
    // (set to a constant here, the same as ours, so both reconnect after the same wait).
    await writeFile(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        'log_dest stdout',
        ...(options.mosquittoMaxQueued === undefined ? [] : [`max_queued_messages ${options.mosquittoMaxQueued}`]),
        '',
        'connection bench',
        `address 127.0.0.1:${options.cloudPort}`,
        `remote_clientid ${options.remoteClientId}`,
        'cleansession false',
        `restart_timeout ${options.restartTimeout}`,
        'topic bench/# out 1',
        '',
      ].join('\n'),
    );
    file = MOSQUITTO;
    args = ['-c', conf];
  } else {
    const config = path.join(dir, 'gateway.yaml');
    await writeFile(
      config,
      [
        'gateway:',
        `  id: ${options.remoteClientId}`,
        `  state_dir: ${dir}/state`,
        'broker:',
        '  persistence: true',
        '  sys_interval: 10',
        '  listeners:',
        `    - { protocol: mqtt, host: 127.0.0.1, port: ${port} }`,
        'bridges:',
        '  - connection: cloud',
        `    addresses: [127.0.0.1:${options.cloudPort}]`,
        `    remote_clientid: ${options.remoteClientId}`,
        '    cleansession: false',
        `    restart_timeout: ${options.restartTimeout}`,
        "    topics: ['bench/# out 1']",
        `    queue: { durability: ${options.durability}, drain: ${options.drain} }`,
        '',
      ].join('\n'),
    );
    // As bench/broker starts ours (BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles it).
    file = process.execPath;
    args = [...gatewayNodeArgs(ROOT), 'broker', '--config', config];
  }
  const logFile = path.join(dir, 'output.log');
  const fd = openSync(logFile, 'a');
  const child = spawn(file, args, { cwd: side === 'mosquitto' ? dir : ROOT, stdio: ['ignore', fd, fd], env: { ...process.env, NODE_OPTIONS: '', ...(side === 'ours' ? gatewayNodeEnv(ROOT) : {}) } });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = (signal: NodeJS.Signals) => stopChild(child, exited, signal);
  const removeProcess = register(() => kill('SIGKILL'));
  const log = async () => (await readFile(logFile, 'utf8').catch(() => '')).slice(-3000);
  try {
    await waitForPort(port, child, 60_000);
  } catch (error) {
    const text = await log();
    await removeProcess();
    await removeDir();
    throw new Error(`${side} gateway did not start: ${(error as Error).message}\n${text}`);
  }
  const pid = child.pid!;
  return {
    side,
    port,
    pid,
    remoteClientId: options.remoteClientId,
    command: [file === process.execPath ? 'node' : file, ...args].join(' '),
    cpuSeconds: () => cpuSeconds(pid),
    rssKiB: () => rssKiB(pid),
    log,
    async stop(signal = 'SIGTERM') {
      await kill(signal);
      cleanups.delete(removeProcess);
      await removeDir();
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode ?? child.signalCode})`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not open after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
