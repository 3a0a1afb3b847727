import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from './temp-dir.js';

const run = promisify(execFile);

/** A real tmpfs of a chosen size, mounted on a fresh directory: a disk that fills up, and grows or turns read-only on demand. */
export interface SmallFilesystem {
  dir: string;
  /** `mount -o remount,size=…`: space returns without touching what is on it. */
  resize(size: string): Promise<void>;
  unmount(): Promise<void>;
}

export async function mountTmpfs(size: string, options: { readOnly?: boolean } = {}): Promise<SmallFilesystem> {
  const tmp = await makeTempDir('pi-edge-fs-');
  const dir = path.join(tmp.dir, 'mnt');
  await mkdir(dir);
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}${options.readOnly ? ',ro' : ''}`, 'tmpfs', dir]);
  return {
    dir,
    resize: async (newSize) => {
      await run('mount', ['-o', `remount,size=${newSize}`, dir]);
    },
    unmount: async () => {
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
      await rm(tmp.dir, { recursive: true, force: true });
    },
  };
}

/**
 * Why a tmpfs cannot be mounted here (mounting needs root, and CAP_SYS_ADMIN in a container), or undefined when it can:
 * tests that need one skip with this reason.
 */
export async function whyNoTmpfs(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root (CI runs .ci/run as root)';
  try {
    const fs = await mountTmpfs('64k');
    await fs.unmount();
    return undefined;
  } catch (error) {
    return `mount -t tmpfs is not permitted here: ${(error as Error).message.split('\n')[0]}`;
  }
}
