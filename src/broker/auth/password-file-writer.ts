/**
 * Replaces a password file atomically (temp file + rename), so the broker never reads a half-written file.
 * A new file gets mode 0640 and the group of its directory: the broker runs as its own service user, and
 * `passwd` as root, so a 0600 root file is one the broker cannot read; in a directory of the service's group (say
 * /etc/pi-edge-gateway, root:pi-edge-gateway 0750) it can, and nobody else. (mosquitto_passwd 2.0 creates its file
 * under the umask, 0644 on Debian's 2.0.11, and later 2.0 releases 0600; the usual advice for mosquitto's user is
 * root:mosquitto 0640.) An existing file keeps its mode and, where permitted, its owner and group; a world-readable
 * file gets a warning instead (mosquitto 2.x warns too, and says later versions will refuse such files).
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

const NEW_FILE_MODE = 0o640;

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
    const mode = existing === undefined ? NEW_FILE_MODE : existing.mode & 0o7777;
    await chmod(tmp, mode);
    const owner = existing ?? { uid: -1, gid: (await stat(dirname(target))).gid };
    await chown(tmp, owner.uid, owner.gid).catch((err: unknown) => {
      if (!isErrno(err, 'EPERM')) throw err;
    });
    await rename(tmp, target);
    return { path: target, created: existing === undefined, worldReadable: (mode & 0o004) !== 0 };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
