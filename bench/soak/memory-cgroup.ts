/**
 * A memory limit around one child process, the way this machine allows: `systemd-run --scope -p MemoryMax=` when
 * systemd is PID 1, else a cgroup made by hand under the bench's own (v2 `memory.max`, or v1
 * `memory.limit_in_bytes`), nested so that it can only tighten what the bench already runs under. `wrap()` gives the
 * command that starts inside it; `oomKills()` reads the kernel's count of out-of-memory kills in it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface MemoryLimit {
  /** How the limit is applied, for the report. */
  method: string;
  wrap(file: string, args: string[]): { file: string; args: string[] };
  /** OOM kills inside the limit so far, or undefined when this method cannot tell. */
  oomKills(): number | undefined;
  remove(): void;
}

export function memoryLimit(bytes: number, name: string): MemoryLimit {
  if (readFileSync('/proc/1/comm', 'utf8').trim() === 'systemd') {
    const unit = `${name}-${process.pid}.scope`;
    return {
      method: `systemd-run --scope -p MemoryMax=${bytes}`,
      wrap: (file, args) => ({ file: 'systemd-run', args: ['--scope', '--quiet', `--unit=${unit}`, '-p', `MemoryMax=${bytes}`, file, ...args] }),
      oomKills: () => {
        try {
          const out = execFileSync('systemctl', ['show', unit, '-p', 'OOMPolicy,Result'], { encoding: 'utf8' });
          return /Result=oom-kill/.test(out) ? 1 : 0;
        } catch {
          return undefined;
        }
      },
      remove: () => undefined,
    };
  }
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v2 = lines.find((line) => line.startsWith('0::'));
  const v1 = lines.find((line) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(line));
  let dir: string;
  let limitFile: string;
  let eventsFile: string;
  let method: string;
  if (v1 && existsSync('/sys/fs/cgroup/memory')) {
    dir = path.join('/sys/fs/cgroup/memory', v1.split(':')[2]!, `${name}-${process.pid}`);
    limitFile = 'memory.limit_in_bytes';
    eventsFile = 'memory.oom_control';
    method = `cgroup v1 by hand: ${dir}/memory.limit_in_bytes`;
  } else if (v2 && existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    dir = path.join('/sys/fs/cgroup', v2.slice(3), `${name}-${process.pid}`);
    limitFile = 'memory.max';
    eventsFile = 'memory.events';
    method = `cgroup v2 by hand: ${dir}/memory.max`;
  } else {
    throw new Error('no way to limit memory here: systemd is not PID 1 and no writable memory cgroup was found');
  }
  mkdirSync(dir);
  writeFileSync(path.join(dir, limitFile), String(bytes));
  // Without swap limited too, a v1 cgroup would swap instead of meeting its limit (where memsw accounting exists).
  const memsw = path.join(dir, 'memory.memsw.limit_in_bytes');
  if (existsSync(memsw)) writeFileSync(memsw, String(bytes));
  return {
    method,
    // The shell moves itself into the cgroup, then becomes the command: it starts there, with every allocation counted.
    wrap: (file, args) => ({ file: '/bin/sh', args: ['-c', `echo $$ > ${path.join(dir, 'cgroup.procs')} && exec "$@"`, 'sh', file, ...args] }),
    oomKills: () => {
      const match = /oom_kill (\d+)/.exec(readFileSync(path.join(dir, eventsFile), 'utf8'));
      return match ? Number(match[1]) : undefined;
    },
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        // still has a process in it: the kernel removes nothing while one lives; left for the next boot
      }
    },
  };
}
