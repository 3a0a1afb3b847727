import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DiskQueue } from '../../../src/bridge/queue/disk-queue.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { idOf } from './helpers.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sigkill-child.ts');

/** Runs the child until it has reported `atLeast` resolved appends, then SIGKILLs it; returns seq -> id reported. */
function appendUntilKilled(dir: string, atLeast: number): Promise<Map<number, number>> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', child, dir, 'write'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const resolved = new Map<number, number>();
    let pending = '';
    let stderr = '';
    process_.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    process_.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const [seq, id] = line.split(' ').map(Number);
        resolved.set(seq as number, id as number);
      }
      if (resolved.size >= atLeast) process_.kill('SIGKILL');
    });
    process_.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(resolved) : reject(new Error(`child exited without being killed: ${stderr}`))));
  });
}

describe('DiskQueue after SIGKILL (real file system)', () => {
  it('keeps every append the killed process saw resolve', async () => {
    const temp = await makeTempDir('bridge-queue-kill-');
    try {
      const dir = path.join(temp.dir, 'queue');
      const first = await appendUntilKilled(dir, 3000);
      const second = await appendUntilKilled(dir, 3000); // a second life on the recovered files
      const queue = await DiskQueue.open({ dir, maxBytes: 1 << 30, maxAgeMs: 3600_000, onFull: 'refuse', durability: 'write' });
      const found = new Map<number, number>();
      for (;;) {
        const entries = await queue.next(500);
        if (entries.length === 0) break;
        for (const entry of entries) found.set(entry.seq, idOf(entry.payload));
      }
      for (const [seq, id] of [...first, ...second]) expect(found.get(seq), `seq ${seq}`).toBe(id);
      expect(Math.min(...second.keys())).toBeGreaterThan(Math.max(...first.keys()));
      await queue.close();
    } finally {
      await temp.remove();
    }
  });
});
