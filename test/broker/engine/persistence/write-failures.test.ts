import { createRequire } from 'node:module';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JournalNotSavedError } from '../../../../src/broker/engine/persistence/journal-store.js';
import { JournaledPersistence, type WriteFailureEpisode } from '../../../../src/broker/engine/persistence/journaled.js';
import { createPersistence, type AedesPersistence } from '../../../../src/broker/engine/persistence/stores.js';
import { createLogger } from '../../../../src/util/logger.js';
import { FaultyJournalStore } from '../../../helpers/faulty-journal-store.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

const require = createRequire(import.meta.url);
const MemoryPersistence = require('aedes-persistence/asyncPersistence.js') as new () => AedesPersistence;

let tmp: { dir: string; remove: () => Promise<void> };
const open: JournaledPersistence[] = [];

beforeEach(async () => {
  tmp = await makeTempDir();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.destroy().catch(() => undefined)));
  await tmp.remove();
});

const retained = (topic: string, payload: string) => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from(payload),
  qos: 1,
  retain: true,
  dup: false,
  brokerId: 'b',
  brokerCounter: 1,
});

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Log lines as parsed JSON objects. */
function captureLog(): { lines: Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', pretty: false }, sink) };
}

describe('JournaledPersistence on a disk that fills up', () => {
  it('retries with backoff, recovers on its own when space returns, and logs the episode once at each end', async () => {
    const { lines, logger } = captureLog();
    let store: FaultyJournalStore | undefined;
    const failures: WriteFailureEpisode[] = [];
    let recovered = 0;
    const p = await createPersistence(path.join(tmp.dir, 'broker'), logger, {
      flushIntervalMs: 10,
      openStore: async (dir) => (store = await FaultyJournalStore.open(dir)),
      events: { writeFailed: (e) => failures.push({ ...e }), recovered: () => recovered++ },
    });
    await p.setup({ id: 'b', counter: 0 });
    open.push(p);
    const disk = store!;

    await p.storeRetained(retained('before/full', '1'));
    await until(async () => (await disk.keys()).includes('r:before/full'));
    disk.full = true;
    for (let i = 0; i < 20; i++) await p.storeRetained(retained(`while/full/${i}`, String(i)));
    await until(() => failures.length >= 1);
    expect(p.status()).toMatchObject({ state: 'failing', location: path.join(tmp.dir, 'broker'), error: 'IO error: write: No space left on device' });
    // A flush every 10 ms would try ~100 times in a second; the backoff (250 ms, doubling) tries a handful.
    const writesBefore = disk.writes + disk.reopens;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(disk.writes + disk.reopens - writesBefore).toBeLessThan(10);
    expect(recovered).toBe(0);

    disk.full = false;
    await until(() => recovered === 1);
    expect(p.status()).toEqual({ state: 'ok', location: path.join(tmp.dir, 'broker') });
    const keys = await disk.keys();
    for (let i = 0; i < 20; i++) expect(keys).toContain(`r:while/full/${i}`);

    const failedLines = lines.filter((l) => String(l.msg).startsWith('persistence write failed'));
    const recoveredLines = lines.filter((l) => String(l.msg).startsWith('persistence writes again'));
    expect(failedLines).toHaveLength(1);
    expect(recoveredLines).toHaveLength(1);
    expect(recoveredLines[0]).toMatchObject({ failedWrites: failures.length });
    expect(failures.length).toBeGreaterThan(1);
  });

  it('a stop that could not save rejects, saying where and since when', async () => {
    const disk = await FaultyJournalStore.open(path.join(tmp.dir, 'broker'));
    const p = new JournaledPersistence(disk, new MemoryPersistence(), { flushIntervalMs: 60_000 });
    await p.setup({ id: 'b', counter: 0 });
    disk.full = true;
    await p.storeRetained(retained('lost/at/stop', 'x'));
    const stopped = p.destroy();
    await expect(stopped).rejects.toBeInstanceOf(JournalNotSavedError);
    await expect(stopped).rejects.toThrow(new RegExp(`persistence in ${tmp.dir}/broker could not save the changes made since .*No space left on device.*lost`));
  });

  it('a stop after the disk recovered saves everything and resolves', async () => {
    const disk = await FaultyJournalStore.open(path.join(tmp.dir, 'broker'));
    const p = new JournaledPersistence(disk, new MemoryPersistence(), { flushIntervalMs: 60_000 });
    await p.setup({ id: 'b', counter: 0 });
    disk.full = true;
    await p.storeRetained(retained('saved/at/stop', 'x'));
    await p.flush();
    expect(p.status().state).toBe('failing');
    disk.full = false;
    await p.destroy();
    const reopened = await FaultyJournalStore.open(path.join(tmp.dir, 'broker'));
    expect(await reopened.keys()).toContain('r:saved/at/stop');
    await reopened.close();
  });

  it('starts on a full disk, serving from memory, and writes once it can', async () => {
    const first = await FaultyJournalStore.open(path.join(tmp.dir, 'broker'));
    await first.close();
    const disk = await FaultyJournalStore.open(path.join(tmp.dir, 'broker'));
    disk.full = true;
    const p = new JournaledPersistence(disk, new MemoryPersistence(), { flushIntervalMs: 10, retryInitialMs: 20 });
    await p.setup({ id: 'b', counter: 0 });
    open.push(p);
    expect(p.status().state).toBe('failing');
    await p.storeRetained(retained('kept', 'x'));
    disk.full = false;
    await until(() => p.status().state === 'ok');
    await until(async () => (await disk.keys()).includes('r:kept'));
  });
});
