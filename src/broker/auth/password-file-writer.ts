/**
 * Replaces a password file atomically (temp file + rename), so the broker never reads a half-written file.
 * A new file gets mode 0600. An existing file keeps its mode and, where permitted, its owner and group, because on a
 * Pi the file is typically root:mosquitto 0640 and tightening it would lock the broker out; a world-readable file
 * gets a warning instead (mosquitto 2.x warns too, and says later versions will refuse such files).
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Stats } from 'node:fs';

export interface WriteResult {
  /** The file actually written, after following symlinks. */
  path: string;
  created: boolean;
  worldReadable: boolean;
}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

export async function writePasswordFile(path: string, text: string): Promise<WriteResult> {
  let target = path;
  let existing: Stats | undefined;
  try {
    target = await realpath(path);
    existing = await stat(target);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }

  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    const mode = existing === undefined ? 0o600 : existing.mode & 0o7777;
    await chmod(tmp, mode);
    if (existing !== undefined) {
      await chown(tmp, existing.uid, existing.gid).catch((err: unknown) => {
        if (!isErrno(err, 'EPERM')) throw err;
      });
    }
    await rename(tmp, target);
    return { path: target, created: existing === undefined, worldReadable: (mode & 0o004) !== 0 };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
