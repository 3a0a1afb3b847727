import { constants } from 'node:fs';
import { access, chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ClassicLevel } from 'classic-level';
import { BrokerError } from '../../errors.js';

/** One change of a batch. */
export type JournalOp = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string };

/**
 * The disk under JournaledPersistence: one key-value store, written in atomic batches. A separate face so the journal
 * can be given a store that fails on demand (tests) and so the one LevelDB quirk that matters here stays in one place:
 * after a failed write (ENOSPC, EIO) LevelDB answers every later write with the same error until it is reopened.
 */
export interface JournalStore {
  /** The directory, for messages. */
  readonly location: string;
  entries(): AsyncIterable<[string, Buffer]>;
  put(key: string, value: Buffer): Promise<void>;
  /** All of `ops` or nothing. */
  write(ops: JournalOp[]): Promise<void>;
  /** Closes and opens the store again: after a failed write, the only way LevelDB takes writes again. */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

/** The state directory cannot hold the store: read-only, not ours, locked by another process, or unreadable. */
export class StateDirectoryError extends BrokerError {
  readonly dir: string;
  readonly code: string | undefined;

  constructor(dir: string, message: string, code: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.dir = dir;
    this.code = code;
  }
}

/** Writes of the journal failed and what they held is lost: said at a stop that could not save. */
export class JournalNotSavedError extends BrokerError {}

const NOT_WRITABLE = new Set(['EROFS', 'EACCES', 'EPERM']);

/**
 * `dir` created (0700: retained payloads, queued messages and wills are for the broker's user only) and writable, or a
 * StateDirectoryError that says why. Node's recursive mkdir reports a read-only filesystem as ENOENT, so a failure is
 * diagnosed on the deepest directory that exists.
 */
export async function prepareStateDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(dir, constants.W_OK);
    await chmod(dir, 0o700);
  } catch (error) {
    const code = await writeProblem(dir, error as NodeJS.ErrnoException);
    if (code && NOT_WRITABLE.has(code)) {
      const why = code === 'EROFS' ? 'read-only filesystem' : 'permission denied';
      throw new StateDirectoryError(dir, `state directory ${dir} is not writable (${code}: ${why})`, code, { cause: error });
    }
    throw new StateDirectoryError(dir, `cannot create the state directory ${dir}: ${(error as Error).message}`, code, { cause: error });
  }
}

/** The error code that explains why `dir` could not be made: the first existing ancestor's write access. */
async function writeProblem(dir: string, error: NodeJS.ErrnoException): Promise<string | undefined> {
  if (error.code !== 'ENOENT') return error.code;
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    try {
      await access(current, constants.F_OK);
    } catch {
      if (current === path.dirname(current)) return error.code;
      continue;
    }
    try {
      await access(current, constants.W_OK);
      return error.code;
    } catch (denied) {
      return (denied as NodeJS.ErrnoException).code ?? error.code;
    }
  }
}

/** LevelDB (classic-level) in `dir`. */
export class LevelJournalStore implements JournalStore {
  private constructor(
    readonly location: string,
    private db: ClassicLevel<string, Buffer>,
  ) {}

  static async open(dir: string): Promise<LevelJournalStore> {
    await prepareStateDirectory(dir);
    return new LevelJournalStore(dir, await openLevel(dir));
  }

  entries(): AsyncIterable<[string, Buffer]> {
    return this.db.iterator();
  }

  put(key: string, value: Buffer): Promise<void> {
    return this.db.put(key, value);
  }

  async write(ops: JournalOp[]): Promise<void> {
    // Not { sync: true }: an fsync on every flush stalled delivery for 150-300 ms (p99 of the 2,000 msg/s bench
    // went from 3.6 ms to 145-322 ms), and aedes-persistence-level never synced either.
    await this.db.batch(ops);
  }

  async reopen(): Promise<void> {
    await this.db.close().catch(() => undefined);
    try {
      this.db = await openLevel(this.location);
    } catch (error) {
      // LevelDB's own error ("IO error: …/000005.ldb: No space left on device") says what the disk did.
      const cause = (error as { cause?: { cause?: unknown } }).cause?.cause;
      throw cause instanceof Error ? cause : error;
    }
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

async function openLevel(dir: string): Promise<ClassicLevel<string, Buffer>> {
  // Loaded here, when a store is opened: the native module is for the on-disk broker only.
  const { ClassicLevel } = await import('classic-level');
  // The journal is written, and read only at start: LevelDB's default 8 MiB block cache and 4 MiB write buffer would
  // be a tenth of the memory budget of a Pi Zero 2 W for nothing.
  const db = new ClassicLevel<string, Buffer>(dir, { valueEncoding: 'buffer', cacheSize: 512 * 1024, writeBufferSize: 1024 * 1024 });
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const code = (error as { code?: string }).code;
    if (code === 'LEVEL_LOCKED' || cause?.code === 'LEVEL_LOCKED') {
      throw new StateDirectoryError(dir, `persistence ${dir} is locked: another pi-edge-gateway process is using it`, 'LEVEL_LOCKED', { cause: error });
    }
    throw new StateDirectoryError(dir, `cannot open the persistence in ${dir}: ${cause?.message ?? (error as Error).message}`, code, { cause: error });
  }
  return db;
}
