import path from 'node:path';
import type { QueueFileHandle, QueueFiles } from '../../../src/bridge/queue/files.js';

/** Thrown by every operation once the power is cut: the process is as good as dead. */
export class PowerCutError extends Error {
  constructor() {
    super('power cut');
    this.name = 'PowerCutError';
  }
}

/** A file's contents: what the process sees, and what the last fdatasync made durable. */
interface Inode {
  data: Buffer;
  synced: Buffer;
}

/** A directory's entries: what the process sees, and what the last fsync of the directory made durable. */
interface Directory {
  live: Map<string, Inode>;
  durable: Map<string, Inode>;
}

export interface PowerCutOptions {
  /** Seeded randomness for what survives a cut. */
  random: () => number;
  /** The cut happens instead of this operation (1-based count of operations); undefined: never. */
  cutAt?: number;
  /** Added latency of every fdatasync, to let appends pile up as on a real card. */
  syncDelayMs?: number;
}

/**
 * An in-memory QueueFiles that knows, per file, what was written and what was synced, and per directory, which
 * entries were synced. Cutting the power keeps only the durable state: directory entries as of the last syncDir
 * (un-synced creations, renames and unlinks are undone), file contents as of the last datasync plus a random prefix
 * of the unsynced appended tail, whose last bytes may be garbage (a sector half written).
 * Directories themselves (mkdir) are taken as durable.
 */
export class PowerCutFiles implements QueueFiles {
  operations = 0;
  datasyncs = 0;
  dirSyncs = 0;
  private dead = false;
  private readonly dirs: Map<string, Directory>;

  constructor(private readonly options: PowerCutOptions, dirs?: Map<string, Directory>) {
    this.dirs = dirs ?? new Map();
  }

  get isCut(): boolean {
    return this.dead;
  }

  /** The files as found after the power comes back: a fresh instance holding only what survived. */
  afterPowerCut(random: () => number = this.options.random): PowerCutFiles {
    const dirs = new Map<string, Directory>();
    for (const [name, dir] of this.dirs) {
      const entries = new Map<string, Inode>();
      const survivors = new Map<Inode, Inode>();
      for (const [entry, inode] of dir.durable) {
        let survivor = survivors.get(inode);
        if (survivor === undefined) {
          const data = surviving(inode, random);
          survivor = { data, synced: Buffer.from(data) };
          survivors.set(inode, survivor);
        }
        entries.set(entry, survivor);
      }
      dirs.set(name, { live: entries, durable: new Map(entries) });
    }
    return new PowerCutFiles({ random }, dirs);
  }

  /** Cuts the power now: every later operation, including on open handles, throws PowerCutError. */
  cut(): void {
    this.dead = true;
  }

  /** The live bytes of a file, for tests that damage it on purpose. */
  contents(file: string): Buffer | undefined {
    return this.dir(path.dirname(file)).live.get(path.basename(file))?.data;
  }

  /** Replaces a file's bytes, live and durable (a test's deliberate damage). */
  overwrite(file: string, data: Buffer): void {
    const inode = this.dir(path.dirname(file)).live.get(path.basename(file));
    if (inode === undefined) throw new Error(`no file ${file}`);
    inode.data = Buffer.from(data);
    inode.synced = Buffer.from(data);
  }

  async mkdir(dir: string): Promise<void> {
    this.step();
    this.dir(dir);
  }

  async list(dir: string): Promise<string[]> {
    this.step();
    return [...this.dir(dir).live.keys()];
  }

  async open(file: string, mode: 'read' | 'write'): Promise<QueueFileHandle> {
    this.step();
    const dir = this.dir(path.dirname(file));
    const name = path.basename(file);
    let inode = dir.live.get(name);
    if (inode === undefined) {
      if (mode === 'read') throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      inode = { data: Buffer.alloc(0), synced: Buffer.alloc(0) };
      dir.live.set(name, inode);
    }
    return new SimulatedHandle(this, inode);
  }

  async rename(from: string, to: string): Promise<void> {
    this.step();
    const dir = this.dir(path.dirname(from));
    const inode = dir.live.get(path.basename(from));
    if (inode === undefined) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' });
    dir.live.delete(path.basename(from));
    this.dir(path.dirname(to)).live.set(path.basename(to), inode);
  }

  async unlink(file: string): Promise<void> {
    this.step();
    this.dir(path.dirname(file)).live.delete(path.basename(file));
  }

  async syncDir(dir: string): Promise<void> {
    this.step();
    this.dirSyncs += 1;
    const directory = this.dirs.get(dir);
    if (directory !== undefined) directory.durable = new Map(directory.live);
  }

  async datasync(inode: Inode): Promise<void> {
    this.step();
    this.datasyncs += 1;
    // What was written before the call is durable once it returns, not what is written meanwhile.
    const snapshot = Buffer.from(inode.data);
    if (this.options.syncDelayMs) await new Promise((resolve) => setTimeout(resolve, this.options.syncDelayMs));
    this.step(false);
    inode.synced = snapshot;
  }

  /** Counts an operation; the one numbered cutAt is where the power goes. */
  step(count = true): void {
    if (this.dead) throw new PowerCutError();
    if (!count) return;
    this.operations += 1;
    if (this.operations === this.options.cutAt) {
      this.dead = true;
      throw new PowerCutError();
    }
  }

  private dir(dir: string): Directory {
    let directory = this.dirs.get(dir);
    if (directory === undefined) {
      directory = { live: new Map(), durable: new Map() };
      this.dirs.set(dir, directory);
    }
    return directory;
  }
}

class SimulatedHandle implements QueueFileHandle {
  constructor(private readonly files: PowerCutFiles, private readonly inode: Inode) {}

  async read(buffer: Buffer, position: number): Promise<number> {
    this.files.step();
    return this.inode.data.copy(buffer, 0, Math.min(position, this.inode.data.length));
  }

  async write(buffer: Buffer, position: number): Promise<void> {
    this.files.step();
    const end = position + buffer.length;
    if (end > this.inode.data.length) {
      const grown = Buffer.alloc(end);
      this.inode.data.copy(grown);
      this.inode.data = grown;
    }
    buffer.copy(this.inode.data, position);
  }

  datasync(): Promise<void> {
    return this.files.datasync(this.inode);
  }

  async truncate(length: number): Promise<void> {
    this.files.step();
    const truncated = Buffer.alloc(length);
    this.inode.data.copy(truncated, 0, 0, Math.min(length, this.inode.data.length));
    this.inode.data = truncated;
  }

  async size(): Promise<number> {
    this.files.step();
    return this.inode.data.length;
  }

  async close(): Promise<void> {
    // Closing after a cut is harmless and lets `finally` blocks run; it is not counted as an operation.
  }
}

/** What a file holds after a power cut. */
function surviving(inode: Inode, random: () => number): Buffer {
  const { data, synced } = inode;
  const appendedTo = data.length >= synced.length && data.subarray(0, synced.length).equals(synced);
  if (!appendedTo) return Buffer.from(random() < 0.5 ? synced : data); // truncated or rewritten since the sync: either
  const unsynced = data.length - synced.length;
  const kept = Math.floor(random() * (unsynced + 1));
  const result = Buffer.from(data.subarray(0, synced.length + kept));
  if (kept > 0 && random() < 0.3) {
    const garbage = Math.min(kept, 1 + Math.floor(random() * 16));
    for (let i = result.length - garbage; i < result.length; i += 1) result[i] = Math.floor(random() * 256);
  }
  return result;
}

/** A small seeded PRNG (mulberry32), so that a failing cut can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
