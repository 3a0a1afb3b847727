import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

/** The mosquitto broker binary (Debian puts it in /usr/sbin), or undefined when it is not installed. */
export const MOSQUITTO = findMosquitto();

function findMosquitto(): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/opt/homebrew/sbin']) {
    if (!dir) continue;
    const candidate = path.join(dir, 'mosquitto');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface MosquittoBroker {
  port: number;
  /** What mosquitto printed so far. */
  log(): string;
  /** Stops it (SIGTERM); the port stays reserved for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port and config: a cloud outage ends. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  remove(): Promise<void>;
}

/**
 * A real mosquitto on a free loopback port, with `lines` added to its config (the listener, logging and, as root, its
 * user are set here; mosquitto 2 refuses anonymous clients unless the lines allow them). Persistence is off unless
 * `persistence` is set.
 */
export async function startMosquitto(lines: string[] = [], options: { port?: number; persistence?: boolean } = {}): Promise<MosquittoBroker> {
  if (!MOSQUITTO) throw new Error('mosquitto is not installed');
  const dir = await mkdtemp(path.join(tmpdir(), 'pi-edge-mosquitto-'));
  const chosen = options.port ?? (await freePort());
  const conf = path.join(dir, 'mosquitto.conf');
  // As root, mosquitto drops to the user "mosquitto", which could not read files in a 0700 temp dir.
  const base = [`listener ${chosen} 127.0.0.1`, 'log_dest stderr', ...(process.getuid?.() === 0 ? ['user root'] : [])];
  // Saved on SIGTERM and read back at start: sessions and their queued messages survive stop() and start().
  if (options.persistence) base.push('persistence true', `persistence_location ${dir}/`);
  await writeFile(conf, `${[...base, ...lines].join('\n')}\n`);

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';
  const start = async (): Promise<void> => {
    const running = spawn(MOSQUITTO!, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = running;
    running.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    running.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let gone = false;
    exited = new Promise((resolve) => running.once('exit', () => ((gone = true), resolve())));
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(chosen))) {
      if (gone || Date.now() > deadline) throw new Error(`mosquitto did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  };
  const stop = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    port: chosen,
    log: () => output,
    stop,
    start,
    remove: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
