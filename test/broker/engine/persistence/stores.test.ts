import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { serialize } from 'node:v8';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AedesPersistence } from '../../../../src/broker/engine/persistence/stores.js';
import { JournaledPersistence } from '../../../../src/broker/engine/persistence/journaled.js';
import { collect, connectClient } from '../../../helpers/broker.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';
import { FaultyJournalStore } from '../../../helpers/faulty-journal-store.js';
import { freePort } from '../../../helpers/free-port.js';
import { startCliProcess } from '../../../helpers/cli-process.js';

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

async function journal(broker = { id: 'b', counter: 0 }): Promise<{ p: JournaledPersistence; broker: typeof broker; db: FaultyJournalStore }> {
  const db = await FaultyJournalStore.open(path.join(tmp.dir, 'db'));
  const p = new JournaledPersistence(db, new MemoryPersistence(), { flushIntervalMs: 60_000 });
  await p.setup(broker);
  open.push(p);
  return { p, broker, db };
}

async function restart(p: JournaledPersistence) {
  await p.destroy();
  open.splice(open.indexOf(p), 1);
  return journal();
}

const packet = (topic: string, payload: string, counter: number, extra: object = {}) => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from(payload),
  qos: 1,
  retain: false,
  dup: false,
  brokerId: 'b',
  brokerCounter: counter,
  ...extra,
});

async function all(stream: AsyncIterable<unknown>): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const item of stream) out.push(item as Record<string, unknown>);
  return out;
}

describe('JournaledPersistence', () => {
  it('restores retained messages, subscriptions, queued messages with their message ids, incoming QoS 2 and wills', async () => {
    const { p } = await journal();
    await p.storeRetained({ ...packet('config/mode', 'eco', 1), retain: true });
    await p.storeRetained({ ...packet('config/gone', 'x', 2), retain: true });
    await p.storeRetained({ ...packet('config/gone', '', 3), retain: true });
    await p.addSubscriptions({ id: 'dash' }, [{ topic: 'readings/#', qos: 1 }, { topic: 'other', qos: 0 }]);
    await p.removeSubscriptions({ id: 'dash' }, ['other']);
    await p.outgoingEnqueueCombi([{ clientId: 'dash' }], packet('readings/1', 'one', 10));
    await p.outgoingEnqueueCombi([{ clientId: 'dash' }], packet('readings/2', 'two', 11));
    await p.outgoingUpdate({ id: 'dash' }, { ...packet('readings/1', 'one', 10), messageId: 7 });
    await p.incomingStorePacket({ id: 'dev' }, { ...packet('in/q2', 'q2', 0), qos: 2, messageId: 42 });
    await p.putWill({ id: 'dev' }, { topic: 'dev/status', payload: Buffer.from('offline'), qos: 1, retain: true });

    const { p: again, broker } = await restart(p);
    expect((await all(again.createRetainedStreamCombi(['#']))).map((r) => [r.topic, String(r.payload)])).toEqual([['config/mode', 'eco']]);
    expect(await again.subscriptionsByClient({ id: 'dash' })).toMatchObject([{ topic: 'readings/#', qos: 1 }]);
    expect(await again.subscriptionsByTopic('readings/5')).toMatchObject([{ clientId: 'dash', topic: 'readings/#', qos: 1 }]);
    const queued = await all(again.outgoingStream({ id: 'dash' }));
    expect(queued.map((q) => [q.topic, String(q.payload), q.messageId])).toEqual([
      ['readings/1', 'one', 7],
      ['readings/2', 'two', undefined],
    ]);
    // new packets of this broker id must not reuse the restored counters
    expect(broker.counter).toBe(11);
    expect(await again.incomingGetPacket({ id: 'dev' }, { messageId: 42 })).toMatchObject({ topic: 'in/q2' });
    expect(await again.getWill({ id: 'dev' })).toMatchObject({ topic: 'dev/status' });

    // acknowledging after the restart removes the message from disk too
    expect(await again.outgoingClearMessageId({ id: 'dash' }, { messageId: 7 })).toMatchObject({ topic: 'readings/1' });
    await again.incomingDelPacket({ id: 'dev' }, { messageId: 42 });
    await again.delWill({ id: 'dev' });
    await again.cleanSubscriptions({ id: 'dash' });
    const { p: third } = await restart(again);
    expect((await all(third.outgoingStream({ id: 'dash' }))).map((q) => q.topic)).toEqual(['readings/2']);
    expect(await third.subscriptionsByClient({ id: 'dash' })).toEqual([]);
    await expect(third.incomingGetPacket({ id: 'dev' }, { messageId: 42 })).rejects.toThrow();
    expect(await third.getWill({ id: 'dev' })).toBeUndefined();
  });

  it('keeps a QoS 2 exchange across a reconnect and a restart: the PUBREL replaces its PUBLISH', async () => {
    const { p } = await journal();
    await p.outgoingEnqueueCombi([{ clientId: 'dash' }], { ...packet('q2/a', 'a', 1), qos: 2 });
    await p.outgoingUpdate({ id: 'dash' }, { ...packet('q2/a', 'a', 1), qos: 2, messageId: 5 });
    // PUBREC arrived: aedes stores the PUBREL in place of the PUBLISH (no broker key)
    await p.outgoingUpdate({ id: 'dash' }, { cmd: 'pubrel', messageId: 5 });
    const { p: again } = await restart(p);
    const [queued] = await all(again.outgoingStream({ id: 'dash' }));
    expect(queued).toMatchObject({ cmd: 'pubrel', messageId: 5 });
    // On reconnect aedes re-wraps it under a new broker key and updates the store with it
    await again.outgoingUpdate({ id: 'dash' }, { cmd: 'pubrel', messageId: 5, brokerId: 'b', brokerCounter: 99 });
    // PUBCOMP
    expect(await again.outgoingClearMessageId({ id: 'dash' }, { messageId: 5 })).toMatchObject({ cmd: 'pubrel' });
    expect(await all(again.outgoingStream({ id: 'dash' }))).toEqual([]);
  });

  it('removes a message aedes decided not to forward (no packet identifier) by its broker key', async () => {
    const { p } = await journal();
    await p.outgoingEnqueueCombi([{ clientId: 'dash' }], packet('home/secret', 's', 1));
    await p.outgoingEnqueueCombi([{ clientId: 'dash' }], packet('home/open', 'o', 2));
    expect(await p.outgoingClearMessageId({ id: 'dash' }, packet('home/secret', 's', 1))).toMatchObject({ topic: 'home/secret' });
    expect((await all(p.outgoingStream({ id: 'dash' }))).map((q) => q.topic)).toEqual(['home/open']);
  });

  it('writes a failed batch again at the next flush, reopening the store LevelDB keeps failing', async () => {
    const db = await FaultyJournalStore.open(path.join(tmp.dir, 'db'));
    const failures: string[] = [];
    const p = new JournaledPersistence(db, new MemoryPersistence(), { flushIntervalMs: 60_000, events: { writeFailed: (e) => failures.push(e.error.message) } });
    await p.setup({ id: 'b', counter: 0 });
    open.push(p);
    db.full = true;
    await p.storeRetained({ ...packet('kept/after/failure', 'v', 1), retain: true });
    await p.flush();
    expect(failures).toEqual(['IO error: write: No space left on device']);
    expect(await db.keys()).not.toContain('r:kept/after/failure');
    db.full = false;
    await p.flush();
    expect(await db.keys()).toContain('r:kept/after/failure');
  });

  it('does not write the broker\'s own $SYS values', async () => {
    const { p, db } = await journal();
    await p.storeRetained({ ...packet('$SYS/broker/uptime', '10 seconds', 1), retain: true });
    await p.storeRetained({ ...packet('home/mode', 'eco', 2), retain: true });
    await p.flush();
    expect((await db.keys()).filter((k) => k.startsWith('r:'))).toEqual(['r:home/mode']);
  });

  it('loads queued messages that an earlier version wrote with v8.serialize, in queue order', async () => {
    const db = new ClassicLevel<string, Buffer>(path.join(tmp.dir, 'db'), { valueEncoding: 'buffer' });
    await db.open();
    await db.put('o:dash:0000000000a', serialize({ ...packet('t', 'ten', 10), messageId: 3 }));
    await db.put('o:dash:00000000002', serialize(packet('t', 'two', 2)));
    await db.close();
    const { p, broker } = await journal();
    expect((await all(p.outgoingStream({ id: 'dash' }))).map((q) => [q.payload!.toString(), q.messageId])).toEqual([
      ['two', undefined],
      ['ten', 3],
    ]);
    expect(broker.counter).toBe(10);
    // And they can still be acknowledged and removed for good.
    await p.outgoingClearMessageId({ id: 'dash' }, { messageId: 3 });
    await p.flush();
    const { p: again } = await restart(p);
    expect((await all(again.outgoingStream({ id: 'dash' }))).map((q) => q.payload!.toString())).toEqual(['two']);
  });

  it('keeps each session its own packet identifier for a message queued for several', async () => {
    const { p } = await journal();
    const shared = packet('home/t', 'v', 1);
    await p.outgoingEnqueueCombi([{ clientId: 'a' }, { clientId: 'b' }], shared);
    await p.outgoingUpdate({ id: 'a' }, { ...shared, messageId: 5 });
    await p.outgoingUpdate({ id: 'b' }, { ...shared, messageId: 9 });
    expect((await all(p.outgoingStream({ id: 'a' }))).map((q) => q.messageId)).toEqual([5]);
    expect((await all(p.outgoingStream({ id: 'b' }))).map((q) => q.messageId)).toEqual([9]);
    expect(shared).not.toHaveProperty('messageId');
    const { p: again } = await restart(p);
    expect((await all(again.outgoingStream({ id: 'a' }))).map((q) => q.messageId)).toEqual([5]);
    expect((await all(again.outgoingStream({ id: 'b' }))).map((q) => q.messageId)).toEqual([9]);
  });

  it('answers subscriber lookups with a new persistent subscription at once, even while it is being stored', async () => {
    const { p } = await journal();
    const topics = async () => ((await p.subscriptionsByTopic('home/t')) as { clientId: string }[]).map((s) => s.clientId);
    expect(await topics()).toEqual([]);
    const adding = p.addSubscriptions({ id: 'dash' }, [{ topic: 'home/#', qos: 1 }]);
    expect(await topics()).toEqual(['dash']);
    await adding;
    const removing = p.removeSubscriptions({ id: 'dash' }, ['home/#']);
    expect(await topics()).toEqual([]);
    await removing;
  });

  it('knows a topic\'s subscribers without waiting once looked up, until any subscription changes', async () => {
    const { p } = await journal();
    const now = () => p.subscribersNow('home/t')?.map((s) => s.clientId);
    await p.addSubscriptions({ id: 'dash' }, [{ topic: 'home/#', qos: 1 }]);
    expect(now()).toBeUndefined();
    await p.subscriptionsByTopic('home/t');
    expect(now()).toEqual(['dash']);

    const adding = p.addSubscriptions({ id: 'phone' }, [{ topic: 'home/t', qos: 1 }]);
    expect(now()).toBeUndefined();
    await adding;
    expect(now()).toBeUndefined();
    await p.subscriptionsByTopic('home/t');
    expect(now()?.sort()).toEqual(['dash', 'phone']);

    await p.removeSubscriptions({ id: 'dash' }, ['home/#']);
    expect(now()).toBeUndefined();
  });

  it('does not keep a lookup that was under way while a subscription changed', async () => {
    // An inner store whose lookups answer late, after the change has been made.
    const inner = new MemoryPersistence();
    const lookUp = (inner.subscriptionsByTopic as (topic: string) => Promise<unknown>).bind(inner);
    let answer: (() => void) | undefined;
    inner.subscriptionsByTopic = (topic: string) => {
      const found = lookUp(topic);
      return new Promise((resolve) => (answer = () => resolve(found)));
    };
    const p = new JournaledPersistence(undefined, inner, { flushIntervalMs: 60_000 });
    await p.setup({ id: 'b', counter: 0 });
    open.push(p);
    const lookup = p.subscriptionsByTopic('home/t');
    await p.addSubscriptions({ id: 'dash' }, [{ topic: 'home/#', qos: 1 }]);
    answer!();
    expect(await lookup).toEqual([]);
    expect(p.subscribersNow('home/t')).toBeUndefined();
    inner.subscriptionsByTopic = lookUp;
    expect(p.subscribersNow('home/t')).toBeUndefined();
    expect(((await p.subscriptionsByTopic('home/t')) as { clientId: string }[]).map((s) => s.clientId)).toEqual(['dash']);
    expect(p.subscribersNow('home/t')?.map((s) => s.clientId)).toEqual(['dash']);
  });

  it('works without a journal: the same store, in memory only', async () => {
    const p = new JournaledPersistence(undefined, new MemoryPersistence(), { flushIntervalMs: 10 });
    await p.setup({ id: 'b', counter: 0 });
    open.push(p);
    await p.outgoingEnqueueCombi([{ clientId: 'dash' }], packet('t', 'x', 1));
    await p.storeRetained({ ...packet('r', 'kept', 2), retain: true });
    await p.flush();
    expect((await all(p.outgoingStream({ id: 'dash' }))).map((q) => String(q.payload))).toEqual(['x']);
    expect((await all(p.createRetainedStream('r'))).map((q) => String(q.payload))).toEqual(['kept']);
  });

  it('never writes a queued message that is acknowledged before the next flush', async () => {
    const { p, db } = await journal();
    await p.flush();
    for (let i = 1; i <= 100; i++) {
      await p.outgoingEnqueueCombi([{ clientId: 'dash' }], packet('t', String(i), i));
      await p.outgoingUpdate({ id: 'dash' }, { ...packet('t', String(i), i), messageId: i });
      await p.outgoingClearMessageId({ id: 'dash' }, { messageId: i });
    }
    await p.flush();
    const keys = await db.keys();
    expect(keys.filter((k) => k.startsWith('o:'))).toEqual([]);
  });
});

describe('the broker process killed with SIGKILL', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  const track = (child: ChildProcess): ChildProcess => (children.push(child), child);

  
  it('keeps what was flushed: retained messages, the subscription and the queued QoS 1 messages', async () => {
    const port = await freePort();
    const config = path.join(tmp.dir, 'broker.yaml');
    await writeFile(
      config,
      `gateway:\n  state_dir: ${tmp.dir}/state\nlog:\n  level: warn\nbroker:\n  sys_interval: 0\n  listeners:\n    - { host: 127.0.0.1, port: ${port} }\n`,
    );
    const url = `mqtt://127.0.0.1:${port}`;
    const first = await startCliProcess('broker', config, port).then(track);
    const durable = await connectClient(url, { clientId: 'dashboard', clean: false });
    await durable.subscribeAsync('readings/#', { qos: 1 });
    await durable.endAsync();
    const pub = await connectClient(url);
    await pub.publishAsync('config/mode', 'eco', { qos: 1, retain: true });
    for (let i = 0; i < 10; i++) await pub.publishAsync(`readings/${i}`, String(i), { qos: 1 });
    await pub.endAsync();
    await new Promise((r) => setTimeout(r, 500)); // > the 100 ms flush interval
    first.kill('SIGKILL');
    await once(first, 'exit');

    await startCliProcess('broker', config, port).then(track);
    const back = await connectClient(url, { clientId: 'dashboard', clean: false });
    const inbox = collect(back);
    const got = await inbox.waitFor(10, 5000);
    expect(got.map((m) => m.payload)).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
    const fresh = await connectClient(url);
    const retained = collect(fresh);
    await fresh.subscribeAsync('config/#');
    expect((await retained.waitFor(1))[0]).toMatchObject({ topic: 'config/mode', payload: 'eco', retain: true });
    await fresh.publishAsync('readings/live', 'live', { qos: 1 });
    await inbox.waitFor(11);
    await Promise.all([back.endAsync(), fresh.endAsync()]);
  }, 60_000); // two broker processes started under tsx: slow on a loaded 2-core machine
});
