import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../helpers/free-port.js';
import { MOSQUITTO } from '../../helpers/mosquitto-broker.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** A broker process that keeps its store in one directory across SIGKILLs and restarts. */
export interface KillableBroker {
  name: string;
  port: number;
  /** Starts it on its directory; rejects with its output when it does not come up (a corrupt store, say). */
  start(): Promise<void>;
  /** SIGKILL, and waits for the process to be gone. */
  kill(): Promise<void>;
  /** SIGTERM, for the end of a run. */
  stop(): Promise<void>;
}

/** `pi-edge-gateway broker` (under tsx) with persistence on, its state in `dir`. */
export async function ourKillableBroker(dir: string): Promise<KillableBroker> {
  const port = await freePort();
  const config = path.join(dir, 'broker.yaml');
  await writeFile(
    config,
    [
      'gateway:',
      '  id: store-kill',
      `  state_dir: ${JSON.stringify(path.join(dir, 'state'))}`,
      'broker:',
      '  persistence: true',
      '  sys_interval: 0',
      // Set, so that a bounded default cannot drop what the check expects: no session here queues nearly as many.
      '  max_queued_messages: 100000',
      '  listeners:',
      `    - { protocol: mqtt, host: 127.0.0.1, port: ${port} }`,
      '',
    ].join('\n'),
  );
  return killable('pi-edge-gateway', port, dir, process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'broker', '--config', config], ROOT);
}

/**
 * mosquitto 2 with `persistence true` as users turn it on: its store is written on shutdown and every
 * `autosave_interval` (30 min by default), so a SIGKILL loses what came since.
 */
export async function mosquittoKillableBroker(dir: string): Promise<KillableBroker> {
  if (!MOSQUITTO) throw new Error('mosquitto is not installed');
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      'max_queued_messages 100000',
      'log_dest stderr',
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      '',
    ].join('\n'),
  );
  return killable('mosquitto', port, dir, MOSQUITTO, ['-c', conf], dir);
}

function killable(name: string, port: number, dir: string, file: string, args: string[], cwd: string): KillableBroker {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const logFile = path.join(dir, 'output.log');
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const end = async (signal: NodeJS.Signals) => {
    if (!running()) return;
    child!.kill(signal);
    await exited;
  };
  return {
    name,
    port,
    async start() {
      const fd = openSync(logFile, 'a');
      const started = spawn(file, args, { cwd, stdio: ['ignore', fd, fd], env: { ...process.env, NODE_OPTIONS: '' } });
      closeSync(fd);
      child = started;
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      const deadline = Date.now() + 60_000;
      while (!(await canConnect(port))) {
        if (!running() || Date.now() > deadline) {
          await end('SIGKILL');
          throw new Error(`${name} did not start on its store:\n${(await readFile(logFile, 'utf8')).slice(-3000)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
