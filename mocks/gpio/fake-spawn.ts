import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { SpawnFn } from '../../src/drivers/gpio/chardev/tool-process.js';

/** One process started through the fake spawn; the test plays the program. */
export interface FakeChild {
  readonly command: string;
  readonly args: readonly string[];
  /** Signals received through kill(). */
  readonly signals: NodeJS.Signals[];
  readonly exited: boolean;
  /** Everything written to the program's stdin. */
  input(): string;
  /** Print a line on stdout / stderr. */
  print(line: string): void;
  printError(line: string): void;
  /** The program ends. */
  exit(code: number | null, signal?: NodeJS.Signals | null): void;
  /** Called for each line on stdin. */
  onInput(listener: (line: string) => void): void;
}

/**
 * A spawn function whose processes are scripted by `program`, for tests of process handling that real or shell
 * tools cannot easily produce (a tool dying mid-run, hanging, odd output). By default kill() ends the process.
 */
export function createFakeSpawn(program: (child: FakeChild) => void): { spawn: SpawnFn; children: FakeChild[] } {
  const children: FakeChild[] = [];
  const spawn: SpawnFn = (command, args) => {
    const emitter = new EventEmitter();
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let written = '';
    let exited = false;
    const inputListeners: ((line: string) => void)[] = [];
    let pending = '';
    const unread: string[] = [];
    stdin.on('data', (chunk: Buffer) => {
      written += chunk.toString();
      pending += chunk.toString();
      let index: number;
      while ((index = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, index);
        pending = pending.slice(index + 1);
        // Like a pipe, input written before the program reads it waits for it.
        if (inputListeners.length === 0) unread.push(line);
        for (const listener of inputListeners) listener(line);
      }
    });
    const signals: NodeJS.Signals[] = [];
    const child: FakeChild = {
      command,
      args,
      signals,
      get exited() {
        return exited;
      },
      input: () => written,
      print: (line) => void stdout.write(`${line}\n`),
      printError: (line) => void stderr.write(`${line}\n`),
      exit(code, signal = null) {
        if (exited) return;
        exited = true;
        stdout.end();
        stderr.end();
        setImmediate(() => {
          emitter.emit('exit', code, signal);
          emitter.emit('close', code, signal);
        });
      },
      onInput(listener) {
        inputListeners.push(listener);
        for (const line of unread.splice(0)) listener(line);
      },
    };
    const process = Object.assign(emitter, {
      stdin,
      stdout,
      stderr,
      pid: 10_000 + children.length,
      kill(signal: NodeJS.Signals = 'SIGTERM') {
        signals.push(signal);
        child.exit(null, signal);
        return true;
      },
    });
    children.push(child);
    setImmediate(() => program(child));
    return process as unknown as ChildProcessWithoutNullStreams;
  };
  return { spawn, children };
}
