import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** An open file: positional reads and writes, and the sync that makes written data durable. */
export interface QueueFileHandle {
  /** Reads up to buffer.length bytes at `position`; returns how many were read (fewer at the end of the file). */
  read(buffer: Buffer, position: number): Promise<number>;
  /** Writes the whole buffer at `position`. */
  write(buffer: Buffer, position: number): Promise<void>;
  /** fdatasync(2): the data written so far survives a power cut. */
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The few file operations the queue needs, injected so that tests can simulate a power cut (what was not synced is
 * lost) and count syncs.
 */
export interface QueueFiles {
  /** Creates the directory (and its parents) with mode 0700 if missing. */
  mkdir(dir: string): Promise<void>;
  /** File names in the directory. */
  list(dir: string): Promise<string[]>;
  /** 'read': an existing file; 'write': read-write, created (empty) if missing, never truncated. */
  open(file: string, mode: 'read' | 'write'): Promise<QueueFileHandle>;
  /** Atomic replacement of `to` (same directory). */
  rename(from: string, to: string): Promise<void>;
  /** A missing file is not an error. */
  unlink(file: string): Promise<void>;
  /** fsync(2) of the directory: creations, renames and unlinks in it survive a power cut. */
  syncDir(dir: string): Promise<void>;
}

class NodeFileHandle implements QueueFileHandle {
  constructor(private readonly handle: FileHandle) {}

  async read(buffer: Buffer, position: number): Promise<number> {
    let total = 0;
    while (total < buffer.length) {
      const { bytesRead } = await this.handle.read(buffer, total, buffer.length - total, position + total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return total;
  }

  async write(buffer: Buffer, position: number): Promise<void> {
    let total = 0;
    while (total < buffer.length) {
      const { bytesWritten } = await this.handle.write(buffer, total, buffer.length - total, position + total);
      total += bytesWritten;
    }
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** The real files, on node:fs/promises. */
export const nodeQueueFiles: QueueFiles = {
  async mkdir(dir) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  },
  list: (dir) => readdir(dir),
  async open(file, mode) {
    const flags = mode === 'read' ? constants.O_RDONLY : constants.O_RDWR | constants.O_CREAT;
    return new NodeFileHandle(await open(file, flags, 0o600));
  },
  rename: (from, to) => rename(from, to),
  async unlink(file) {
    try {
      await unlink(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  },
  async syncDir(dir) {
    const handle = await open(path.resolve(dir), constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};
