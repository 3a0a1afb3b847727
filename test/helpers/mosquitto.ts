import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Whether an executable of this name is on PATH (evaluated synchronously, for describe.skipIf). */
export function hasBinary(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

export interface ProcessResult {
  /** Exit code; null when killed by a signal (e.g. the timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (or its timeout) and resolves with what it did; never rejects on a non-zero exit. */
export function runProgram(file: string, args: string[], timeoutMs = 20_000): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error && typeof (error as NodeJS.ErrnoException).code === 'string') {
        reject(error);
        return;
      }
      const exit = error as (Error & { code?: number | null; signal?: NodeJS.Signals | null }) | null;
      resolve({ code: exit ? (exit.code ?? null) : 0, signal: exit?.signal ?? null, stdout, stderr });
    });
  });
}


/** Polls until `check` is true (e.g. a mosquitto_sub child has subscribed), or fails after `timeoutMs`. */
export async function waitUntil(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether this build of mosquitto_sub accepts `-L ws://...` (Debian's libmosquitto client has no WebSocket support). */
export async function mosquittoClientsSupportWebSockets(): Promise<boolean> {
  if (!hasBinary('mosquitto_sub')) return false;
  const result = await runProgram('mosquitto_sub', ['-L', 'ws://127.0.0.1:9/probe', '-C', '1', '-W', '1'], 3000);
  return !/unsupported URL scheme|Error: Invalid URL/i.test(result.stderr);
}
