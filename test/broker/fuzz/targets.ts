import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../helpers/free-port.js';
import { MOSQUITTO } from '../../helpers/mosquitto-broker.js';
import type { FuzzTarget } from './run-fuzz.js';
import { stopChild } from '../../helpers/child-stop.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** A broker process the fuzzer attacks, with its TCP and WebSocket listeners on loopback. */
export interface RunningTarget extends FuzzTarget {
  /** The last lines of its output: why it died, if it did. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `pi-edge-gateway broker` as a child process (under tsx, from the sources under test), with persistence on (so
 * that hostile client ids and topics also go through the store) and a TCP and a WebSocket listener. `extraBroker`
 * are lines added to its `broker:` section, indented.
 */
export async function startOurBroker(extraBroker: string[] = []): Promise<RunningTarget> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fuzz-ours-'));
  const [tcpPort, wsPort] = [await freePort(), await freePort()];
  const config = path.join(dir, 'broker.yaml');
  await writeFile(
    config,
    [
      'gateway:',
      '  id: fuzz-broker',
      `  state_dir: ${JSON.stringify(path.join(dir, 'state'))}`,
      'broker:',
      '  persistence: true',
      '  listeners:',
      `    - { protocol: mqtt, host: 127.0.0.1, port: ${tcpPort} }`,
      `    - { protocol: ws, host: 127.0.0.1, port: ${wsPort}, path: /mqtt }`,
      ...extraBroker.map((line) => `  ${line}`),
      '',
    ].join('\n'),
  );
  const args = ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'broker', '--config', config];
  return launch('pi-edge-gateway', process.execPath, args, dir, tcpPort, `ws://127.0.0.1:${wsPort}/mqtt`, wsPort, ROOT);
}

/** Debian's mosquitto 2 with the same two listeners, anonymous clients allowed, its other settings left default. */
export async function startMosquittoTarget(): Promise<RunningTarget> {
  if (!MOSQUITTO) throw new Error('mosquitto is not installed');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fuzz-mosquitto-'));
  const [tcpPort, wsPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      'allow_anonymous true',
      'log_dest stderr',
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      `listener ${tcpPort} 127.0.0.1`,
      `listener ${wsPort} 127.0.0.1`,
      'protocol websockets',
      '',
    ].join('\n'),
  );
  return launch('mosquitto', MOSQUITTO, ['-c', conf], dir, tcpPort, `ws://127.0.0.1:${wsPort}/mqtt`, wsPort, dir);
}

async function launch(name: string, file: string, args: string[], dir: string, tcpPort: number, wsUrl: string, wsPort: number, cwd: string): Promise<RunningTarget> {
  const logFile = path.join(dir, 'output.log');
  const fd = openSync(logFile, 'a');
  const child: ChildProcess = spawn(file, args, { cwd, stdio: ['ignore', fd, fd], env: { ...process.env, NODE_OPTIONS: '' } });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const log = async () => (existsSync(logFile) ? (await readFile(logFile, 'utf8')).slice(-4000) : '');
  const stop = async () => {
    await stopChild(child, exited);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 60_000;
    for (const port of [tcpPort, wsPort]) {
      while (!(await canConnect(port))) {
        if (!alive() || Date.now() > deadline) throw new Error(`${name} did not start:\n${await log()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { name, tcpPort, wsUrl, pid: child.pid!, alive, log, stop };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
