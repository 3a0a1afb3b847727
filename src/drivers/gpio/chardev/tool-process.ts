import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { BackendUnavailableError, DeviceBusyError, DeviceNotPresentError, HardwareIoError, HardwareTimeoutError } from '../../errors.js';
import type { HardwareError } from '../../errors.js';

/** How the chardev backend starts a program; tests inject fakes. */
export type SpawnFn = (command: string, args: readonly string[]) => ChildProcessWithoutNullStreams;

const plainSpawn: SpawnFn = (command, args) => spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });

/**
 * Runs tools under util-linux `setpriv --pdeathsig TERM` when it exists, so that a gpioset or gpiomon dies with the
 * gateway even when the gateway is killed without closing its lines (otherwise they keep holding the lines, and the
 * next start gets EBUSY). setpriv execs the tool, so signals sent to the child reach the tool itself.
 */
export function createDefaultSpawn(findExecutable: (name: string) => string | undefined = findOnPath, base: SpawnFn = plainSpawn): SpawnFn {
  const setpriv = findExecutable('setpriv');
  if (!setpriv) return base;
  return (command, args) => base(setpriv, ['--pdeathsig', 'TERM', '--', command, ...args]);
}

function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A libgpiod tool's failure as a typed error, from its stderr (the tools print strerror text). */
export function toolError(device: string, tool: string, detail: string, cause?: unknown): HardwareError {
  const message = `${tool}: ${detail.trim() || 'failed'}`;
  if (/resource busy/i.test(detail)) return new DeviceBusyError(device, `${message} (another process or a kernel driver holds the line; see gpioinfo)`, { code: 'EBUSY', cause });
  if (/permission denied/i.test(detail)) {
    return new HardwareIoError(device, `${message} (add the service user to the gpio group: sudo usermod -aG gpio <user>)`, { code: 'EACCES', cause });
  }
  if (/no such (file|device)|not found|cannot find|invalid (offset|line)/i.test(detail)) return new DeviceNotPresentError(device, message, { code: 'ENODEV', cause });
  if (/invalid argument/i.test(detail)) return new HardwareIoError(device, message, { code: 'EINVAL', cause });
  return new HardwareIoError(device, message, { cause });
}

function spawnError(device: string, command: string, error: unknown): HardwareError {
  if ((error as { code?: unknown }).code === 'ENOENT') {
    return new BackendUnavailableError(device, `${command} not found: install the libgpiod tools (sudo apt install gpiod)`, { code: 'ENOENT', cause: error });
  }
  return new HardwareIoError(device, `cannot run ${command}: ${(error as Error).message}`, { cause: error });
}

const STDERR_LIMIT = 4096;

/** A running libgpiod tool: stdout by line, the tail of stderr, and an orderly stop. */
export class ToolProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderrText = '';
  private spawnFailure: unknown;
  private running = true;
  private readonly lineWatchers = new Set<(line: string) => void>();

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly command: string,
    private readonly device: string,
    onLine: (line: string) => void,
  ) {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderrText = (this.stderrText + chunk).slice(-STDERR_LIMIT);
    });
    child.stdin.on('error', () => {}); // EPIPE when the tool died; the exit is reported instead.
    createInterface({ input: child.stdout }).on('line', (line) => {
      for (const watcher of this.lineWatchers) watcher(line);
      onLine(line);
    });
    this.exited = new Promise((resolve) => {
      child.on('error', (error) => {
        this.spawnFailure = error;
        this.running = false;
        resolve({ code: null, signal: null });
      });
      child.on('close', (code, signal) => {
        this.running = false;
        resolve({ code, signal });
      });
    });
  }

  static start(spawnFn: SpawnFn, command: string, args: readonly string[], device: string, onLine: (line: string) => void = () => {}): ToolProcess {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawnFn(command, args);
    } catch (error) {
      throw spawnError(device, command, error);
    }
    return new ToolProcess(child, command, device, onLine);
  }

  get isRunning(): boolean {
    return this.running;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** The error describing why the process ended (spawn failure or exit status with stderr). */
  failure(status: { code: number | null; signal: NodeJS.Signals | null }): HardwareError {
    if (this.spawnFailure !== undefined) return spawnError(this.device, this.command, this.spawnFailure);
    if (status.code === 127 || /failed to execute/.test(this.stderrText)) {
      // The shell-style "command not found" status, also what setpriv reports when it cannot exec the tool.
      return spawnError(this.device, this.command, Object.assign(new Error(this.stderrText.trim() || 'not found'), { code: 'ENOENT' }));
    }
    const how = status.signal ? `killed by ${status.signal}` : `exited with status ${status.code}`;
    return toolError(this.device, this.command, this.stderrText.trim() || how);
  }

  /** Resolves once the tool has survived `graceMs` (it has requested the line by then), rejects if it exits first. */
  async started(graceMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      this.exited.then((status) => ({ status })),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome) throw this.failure(outcome.status);
  }

  /**
   * Resolves once the tool holds its lines. With `banner` (libgpiod v2's --banner, printed only after the line
   * request succeeded) that is known: the banner line arrived. Without it (v1 prints nothing) it is a guess: the
   * tool survived `graceMs`. Rejects with the tool's error if it exits first, and after `timeoutMs` without banner.
   */
  async ready(banner: RegExp | undefined, graceMs: number, timeoutMs: number): Promise<void> {
    if (!banner) return this.started(graceMs);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let watcher: ((line: string) => void) | undefined;
    const outcome = await Promise.race([
      this.exited.then((status) => ({ error: this.failure(status) })),
      new Promise<{ error?: undefined }>((resolve) => {
        watcher = (line) => {
          if (banner.test(line)) resolve({});
        };
        this.lineWatchers.add(watcher);
      }),
      new Promise<{ error: HardwareError }>((resolve) => {
        timer = setTimeout(
          () => resolve({ error: new HardwareTimeoutError(this.device, `${this.command} printed no banner within ${timeoutMs} ms`, { code: 'ETIMEDOUT' }) }),
          timeoutMs,
        );
      }),
    ]);
    clearTimeout(timer);
    if (watcher) this.lineWatchers.delete(watcher);
    if (outcome.error) {
      await this.stop(100);
      throw outcome.error;
    }
  }

  write(text: string): void {
    this.child.stdin.write(text);
  }

  closeInput(): void {
    this.child.stdin.end();
  }

  /** SIGTERM, then SIGKILL if the tool has not gone within `killAfterMs`. */
  async stop(killAfterMs = 1000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gone = await Promise.race([this.exited.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), killAfterMs)))]);
    clearTimeout(timer);
    if (!gone) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Runs a tool to completion and returns its stdout; a non-zero exit is a typed error. */
export async function runTool(spawnFn: SpawnFn, command: string, args: readonly string[], device: string, timeoutMs = 5000): Promise<string> {
  const lines: string[] = [];
  const tool = ToolProcess.start(spawnFn, command, args, device, (line) => lines.push(line));
  tool.closeInput();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const status = await Promise.race([tool.exited, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))]);
  clearTimeout(timer);
  if (status === 'timeout') {
    await tool.stop(100);
    throw new HardwareTimeoutError(device, `${command} ${args.join(' ')} did not finish within ${timeoutMs} ms`, { code: 'ETIMEDOUT' });
  }
  if (status.code !== 0) throw tool.failure(status);
  return lines.join('\n');
}
