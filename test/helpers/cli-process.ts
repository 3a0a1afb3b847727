import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/**
 * `pi-edge-gateway <command> --config FILE` in a child process (under tsx), resolved once its listener on `port`
 * accepts connections: for tests that kill it (SIGKILL) or measure it from outside.
 */
export async function startCliProcess(command: 'broker' | 'run', config: string, port: number, timeoutMs = 30_000): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), command, '--config', config], {
    cwd: repoRoot,
    stdio: 'ignore',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (up) return child;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`pi-edge-gateway ${command} did not start`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
