import type { JournalOp, JournalStore } from '../../src/broker/engine/persistence/journal-store.js';
import { LevelJournalStore } from '../../src/broker/engine/persistence/journal-store.js';

/**
 * A real LevelDB journal store whose disk can be "filled" on demand: while full, every write and reopen fails with
 * ENOSPC, and, as LevelDB itself does, once a write has failed every later one fails too until the store is reopened
 * (even after space returns).
 */
export class FaultyJournalStore implements JournalStore {
  full = false;
  /** Set by a failed write, cleared by a successful reopen: LevelDB's sticky background error. */
  private stuck = false;
  writes = 0;
  failedWrites = 0;
  reopens = 0;

  private constructor(private readonly inner: LevelJournalStore) {}

  static async open(dir: string): Promise<FaultyJournalStore> {
    return new FaultyJournalStore(await LevelJournalStore.open(dir));
  }

  get location(): string {
    return this.inner.location;
  }

  entries(): AsyncIterable<[string, Buffer]> {
    return this.inner.entries();
  }

  async keys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const [key] of this.inner.entries()) keys.push(key);
    return keys;
  }

  async put(key: string, value: Buffer): Promise<void> {
    this.check();
    await this.inner.put(key, value);
  }

  async write(ops: JournalOp[]): Promise<void> {
    this.writes++;
    this.check();
    await this.inner.write(ops);
  }

  async reopen(): Promise<void> {
    this.reopens++;
    if (this.full) throw enospc('open');
    await this.inner.reopen();
    this.stuck = false;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private check(): void {
    if (this.full || this.stuck) {
      this.failedWrites++;
      this.stuck = true;
      throw enospc('write');
    }
  }
}

function enospc(what: string): Error {
  return Object.assign(new Error(`IO error: ${what}: No space left on device`), { code: 'ENOSPC' });
}
