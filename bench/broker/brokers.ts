import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/helpers/free-port.js';
import { gatewayNodeArgs, gatewayNodeEnv, shebangNodeFlags } from '../node-flags.js';
import { stopChild } from '../../test/helpers/child-stop.js';

/** ours, Debian's mosquitto, or the floor of a Node broker (node-floor.ts: forwards frames, nothing more). */
export type BrokerKind = 'ours' | 'mosquitto' | 'floor';

export const MOSQUITTO = '/usr/sbin/mosquitto';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux

export interface BrokerProcess {
  kind: BrokerKind;
  port: number;
  pid: number;
  /** The command line, for the report. */
  command: string;
  /** utime + stime in seconds. */
  cpuSeconds(): Promise<number>;
  /** VmRSS in KiB. */
  rssKiB(): Promise<number>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra node flags for our broker (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Where profiles / logs go; a temp dir otherwise. */
  outDir?: string;
  /** Environment additions for our broker process. */
  env?: Record<string, string>;
  /** Our broker's `persistence:` (default true, as users run it); false only for experiments. */
  persistence?: boolean;
  /** max_inflight_messages for both brokers (default: theirs, 20). */
  maxInflight?: number;
}

export { freePort };

export function hasMosquitto(): boolean {
  return existsSync(MOSQUITTO);
}

export async function startBroker(kind: BrokerKind, options: StartOptions = {}): Promise<BrokerProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `bench-${kind}-`));
  const port = await freePort();
  let file: string;
  let args: string[];
  if (kind === 'mosquitto') {
    const conf = path.join(dir, 'mosquitto.conf');
    await writeFile(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        // The default of 1000 silently drops QoS 1 messages under load; 0 is no limit (like ours).
        'max_queued_messages 0',
        ...(options.maxInflight === undefined ? [] : [`max_inflight_messages ${options.maxInflight}`]),
        // Ours sets TCP_NODELAY; without it mosquitto's window-limited QoS 0 fan-in stalls on 40 ms delayed ACKs and
        // the comparison would measure Nagle, not the brokers.
        'set_tcp_nodelay true',
        'persistence true',
        `persistence_location ${dir}/`,
        'log_dest none',
        '',
      ].join('\n'),
    );
    file = MOSQUITTO;
    args = ['-c', conf];
  } else if (kind === 'floor') {
    // The same node flags as our broker, so that the difference is the broker's code.
    const flags = shebangNodeFlags(path.join(ROOT, 'src/cli/main.ts'));
    file = process.execPath;
    args = [...flags, '--import', 'tsx', path.join(ROOT, 'bench/broker/node-floor.ts'), String(port)];
  } else {
    const config = path.join(dir, 'broker.yaml');
    await writeFile(
      config,
      [
        'gateway:',
        '  id: bench-broker',
        `  state_dir: ${dir}/state`,
        'broker:',
        `  persistence: ${options.persistence ?? true}`,
        ...(options.maxInflight === undefined ? [] : [`  max_inflight_messages: ${options.maxInflight}`]),
        '  sys_interval: 10',
        '  listeners:',
        `    - { protocol: mqtt, host: 127.0.0.1, port: ${port} }`,
        '',
      ].join('\n'),
    );
    file = process.execPath;
    // BENCH_NODE_FLAGS: extra flags for our broker's node, e.g. --trace-gc; BENCH_KEEP_LOGS=DIR keeps the brokers' output.
    args = [...(options.nodeFlags ?? []), ...gatewayNodeArgs(ROOT), 'broker', '--config', config];
  }
  const logFile = path.join(options.outDir ?? dir, `${kind}.log`);
  const log = openSync(logFile, 'a');
  const child = spawn(file, args, {
    cwd: kind === 'mosquitto' ? dir : ROOT,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...(kind === 'ours' ? gatewayNodeEnv(ROOT) : {}), ...options.env },
  });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port, child, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    const text = await readFile(logFile, 'utf8').catch(() => '');
    throw new Error(`${kind} did not start: ${(error as Error).message}\n${text.slice(-2000)}`);
  }
  const pid = child.pid!;
  return {
    kind,
    port,
    pid,
    command: [file === process.execPath ? 'node' : file, ...args].join(' '),
    cpuSeconds: () => cpuSeconds(pid),
    rssKiB: () => rssKiB(pid),
    async stop() {
      await stopChild(child, exited);
      const keep = process.env.BENCH_KEEP_LOGS;
      if (keep) {
        await mkdir(keep, { recursive: true });
        await copyFile(logFile, path.join(keep, `${kind}-${port}.log`));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`port ${port} not open after ${timeoutMs} ms`);
}

export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // fields after the ")" of the command name: state is field 3, utime 14, stime 15
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) : NaN;
}

/** CPU seconds spent by the whole machine (all cores, everything but idle and iowait). */
export interface MachineCpu {
  /** CPU seconds spent by anything on this machine, all cores. */
  busy: number;
  /** CPU seconds the hypervisor gave to other guests while this one wanted to run (a VM's "steal"). */
  steal: number;
}

export async function machineCpuSeconds(): Promise<MachineCpu> {
  const stat = await readFile('/proc/stat', 'utf8');
  const fields = stat.slice(0, stat.indexOf('\n')).split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return { busy: (user + nice + system + irq + softirq) / CLOCK_TICKS, steal: steal / CLOCK_TICKS };
}
