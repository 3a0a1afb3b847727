import type { ChildProcess } from 'node:child_process';

/**
 * Stops a child process with `signal` (SIGTERM by default), then SIGKILL if it has not exited after `graceMs`;
 * resolves once it has exited. Nothing to do for one that exited already.
 */
export async function stopChild(child: ChildProcess, exited: Promise<unknown>, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
