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

/** An ext4 filesystem in a loop-mounted image that can be frozen: every write to it then hangs until it is thawed. */
export interface FreezableFilesystem {
  dir: string;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  unmount(): Promise<void>;
}

/** Mounted on `at` (created), or on a fresh directory. */
export async function mountFreezable(options: { sizeMiB?: number; at?: string } = {}): Promise<FreezableFilesystem> {
  const sizeMiB = options.sizeMiB ?? 16;
  const tmp = await makeTempDir('pi-edge-freeze-');
  const image = path.join(tmp.dir, 'disk.img');
  const dir = options.at ?? path.join(tmp.dir, 'mnt');
  await mkdir(dir, { recursive: true });
  await run('truncate', ['-s', `${sizeMiB}M`, image]);
  await run('mkfs.ext4', ['-q', '-F', image]);
  await run('mount', ['-o', 'loop', image, dir]);
  let frozen = false;
  const thaw = async () => {
    if (!frozen) return;
    frozen = false;
    await run('fsfreeze', ['-u', dir]);
  };
  return {
    dir,
    freeze: async () => {
      await run('fsfreeze', ['-f', dir]);
      frozen = true;
    },
    thaw,
    unmount: async () => {
      // Thawed first: a process blocked writing to a frozen filesystem cannot even be killed.
      await thaw().catch(() => undefined);
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
      await rm(tmp.dir, { recursive: true, force: true });
    },
  };
}

/** Why a freezable filesystem cannot be made here (root, loop devices, fsfreeze), or undefined when it can. */
export async function whyNoFreezable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'fsfreeze needs Linux';
  if (process.getuid?.() !== 0) return 'loop mounts and fsfreeze need root (CI runs .ci/run as root)';
  try {
    const fs = await mountFreezable({ sizeMiB: 8 });
    try {
      await fs.freeze();
      await fs.thaw();
    } finally {
      await fs.unmount();
    }
    return undefined;
  } catch (error) {
    return `a loop-mounted ext4 cannot be frozen here: ${(error as Error).message.split('\n')[0]}`;
  }
}
