import { Readable } from 'node:stream';
import { deserialize, serialize } from 'node:v8';
import { JournalNotSavedError, type JournalOp, type JournalStore } from './journal-store.js';
import type { AedesPersistence } from './stores.js';
import { OUTGOING_PREFIX, OutgoingQueues } from './outgoing-queues.js';
import { decodeStoredPacket, type StoredPacket } from './packet-codec.js';

/** How often changes are written to disk (one LevelDB batch). */
export const DEFAULT_FLUSH_INTERVAL_MS = 100;
/** After a failed write, the next try waits this long, doubled after each failure up to the maximum. */
export const DEFAULT_RETRY_INITIAL_MS = 250;
export const DEFAULT_RETRY_MAX_MS = 5000;
const SUBSCRIBERS_CACHE_SIZE = 4096;

// Keys. Client ids are encodeURIComponent'ed so ':' separates fields unambiguously.
const RETAINED = 'r:';
const SUBSCRIPTIONS = 's:';
const INCOMING = 'i:';
const WILL = 'w:';
const VERSION_KEY = 'journal-version';

interface ClientRef {
  id: string;
}
interface Subscription {
  topic: string;
  qos: number;
  [field: string]: unknown;
}
type Change = { value: object } | null;

/** A run of failed writes, from the first failure to the next write that succeeds. */
export interface WriteFailureEpisode {
  /** When the first write of the run failed (ms since the epoch). */
  since: number;
  /** Writes (and reopenings) that failed in this run so far. */
  failedWrites: number;
  /** The latest error. */
  error: Error;
}

export interface JournalEvents {
  /** Every failed write; `episode.failedWrites` is 1 for the first of a run. */
  writeFailed?(episode: WriteFailureEpisode): void;
  /** A write succeeded after a run of failures: everything kept in memory meanwhile is on disk again. */
  recovered?(episode: WriteFailureEpisode, durationMs: number): void;
}

export interface JournalOptions {
  flushIntervalMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  events?: JournalEvents;
}

/** What health() shows of the store. */
export interface JournalStatus {
  /** `memory`: no disk (persistence off); `failing`: the last write failed, changes are kept in memory meanwhile. */
  state: 'memory' | 'ok' | 'failing';
  location?: string;
  failingSince?: string;
  failedWrites?: number;
  error?: string;
}

/**
 * Durable persistence that is fast on the hot path: aedes' in-memory persistence serves every read and write, and
 * the changes to durable state (retained messages, persistent sessions' subscriptions, their queued QoS 1/2
 * messages, inbound QoS 2 messages, wills) are written behind to LevelDB as one batch every
 * `flushIntervalMs` and on destroy(). A change undone before the next flush (a QoS 1 message queued for an online
 * persistent session and acknowledged within the interval) never reaches the disk.
 *
 * kill -9 (or a crash) loses at most the changes of the last interval: a flushed batch is in LevelDB's log. A power
 * cut can also lose what the kernel had not written back yet (batches are not fsynced; Linux writes dirty pages
 * back within ~30 s), as with aedes-persistence-level before. Everything is loaded back into memory on start.
 */
export class JournaledPersistence implements AedesPersistence {
  private pending = new Map<string, Change>();
  private readonly dirtySubscriptions = new Set<string>();
  /** Clients with a subscriptions record on disk (or pending). */
  private readonly storedSubscriptions = new Set<string>();
  private readonly outgoing = new OutgoingQueues();
  /** subscriptionsByTopic results: one trie walk per topic instead of one per QoS > 0 message. */
  private readonly subscribersByTopic = new Map<string, Subscription[]>();
  /** Counts subscription changes: a lookup that saw an older count has a list that may be out of date. */
  private subscriptionChanges = 0;
  /** Inbound QoS 2 messages awaiting PUBREL, by client: packet identifier → payload bytes. */
  private readonly incoming = new Map<string, Map<number, number>>();
  /** Keys on disk (or in a batch being written), so deleting anything else needs no disk write. */
  private readonly written = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Set from a failed write until one succeeds. */
  private failure: WriteFailureEpisode | undefined;
  /** When the next write may be tried after a failure, and the wait before the one after. */
  private retryAt = 0;
  private retryDelayMs = 0;
  private readonly flushIntervalMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly events: JournalEvents;

  constructor(
    /** Without one, nothing is written: the same store, in memory only (`persistence: false`, tests). */
    private readonly db: JournalStore | undefined,
    private readonly inner: AedesPersistence,
    options: JournalOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    this.retryInitialMs = options.retryInitialMs ?? DEFAULT_RETRY_INITIAL_MS;
    this.retryMaxMs = Math.max(this.retryInitialMs, options.retryMaxMs ?? DEFAULT_RETRY_MAX_MS);
    this.events = options.events ?? {};
  }

  [method: string]: unknown;

  get broker(): unknown {
    return this.inner.broker;
  }

  async setup(broker: unknown): Promise<void> {
    await this.inner.setup(broker);
    this.outgoing.setBrokerId((broker as { id: string }).id);
    if (this.db) await this.load(this.db, broker as { id: string; counter: number });
    this.timer = setInterval(() => void this.flushOnTimer(), this.flushIntervalMs);
    this.timer.unref();
  }

  /**
   * Writes every pending change now, even while waiting to retry after a failure; resolves when they are on disk, or
   * when the write failed (then they stay pending: see status()).
   */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  /** The timer's flush: after a failed write, not before the backoff has passed. */
  private flushOnTimer(): Promise<void> {
    if (this.failure && Date.now() < this.retryAt) return this.flushing;
    return this.flush();
  }

  status(): JournalStatus {
    if (!this.db) return { state: 'memory' };
    const failure = this.failure;
    if (!failure) return { state: 'ok', location: this.db.location };
    return {
      state: 'failing',
      location: this.db.location,
      failingSince: new Date(failure.since).toISOString(),
      failedWrites: failure.failedWrites,
      error: failure.error.message,
    };
  }

  /**
   * Writes what is pending (one last try, whatever the backoff) and closes. Rejects with a JournalNotSavedError when
   * changes could not be written: a stop that lost acknowledged state must not look like a clean one.
   */
  async destroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    const failure = this.failure;
    await (this.inner.destroy as () => Promise<void>)();
    await this.db?.close().catch(() => undefined);
    if (failure && this.db) {
      throw new JournalNotSavedError(
        `persistence in ${this.db.location} could not save the changes made since ${new Date(failure.since).toISOString()} ` +
          `(${failure.failedWrites} failed writes, last: ${failure.error.message}): they are lost`,
        { cause: failure.error },
      );
    }
  }

  // --- retained

  async storeRetained(packet: StoredPacket): Promise<void> {
    await this.call('storeRetained', packet);
    // $SYS values are the broker's own, rewritten every sys_interval and stale after a restart: writing them would
    // only wear the SD card.
    if (packet.topic?.startsWith('$SYS/')) return;
    if (packet.payload?.length) this.pending.set(RETAINED + packet.topic, { value: { ...packet } });
    else this.forget(RETAINED + packet.topic);
  }

  createRetainedStream(pattern: string): Readable {
    return this.call('createRetainedStream', pattern) as Readable;
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return this.call('createRetainedStreamCombi', patterns) as Readable;
  }

  // --- subscriptions: the whole list of a client is rewritten at the next flush

  async addSubscriptions(client: ClientRef, subs: Subscription[]): Promise<void> {
    await this.changeSubscriptions(this.call('addSubscriptions', client, subs));
    this.dirtySubscriptions.add(client.id);
  }

  async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    await this.changeSubscriptions(this.call('removeSubscriptions', client, topics));
    if (this.storedSubscriptions.has(client.id)) this.dirtySubscriptions.add(client.id);
  }

  async cleanSubscriptions(client: ClientRef): Promise<void> {
    await this.changeSubscriptions(this.call('cleanSubscriptions', client));
    if (this.storedSubscriptions.has(client.id)) this.dirtySubscriptions.add(client.id);
  }

  /**
   * The cached subscriber lists are dropped as soon as the inner store has applied a change (it does so before its
   * promise settles), and again once it has settled: a lookup in between must not see the old list.
   */
  private async changeSubscriptions(change: unknown): Promise<void> {
    this.forgetSubscribers();
    await change;
    this.forgetSubscribers();
  }

  private forgetSubscribers(): void {
    this.subscriptionChanges++;
    this.subscribersByTopic.clear();
  }

  /** The persistent sessions read back from disk at start, with their subscription filters. */
  async restoredSubscriptions(): Promise<Map<string, string[]>> {
    const restored = new Map<string, string[]>();
    for (const clientId of this.storedSubscriptions) {
      restored.set(clientId, (await this.subscriptionsByClient({ id: clientId })).map((sub) => sub.topic));
    }
    return restored;
  }

  subscriptionsByClient(client: ClientRef): Promise<Subscription[]> {
    return this.call('subscriptionsByClient', client) as Promise<Subscription[]>;
  }

  subscriptionsByTopic(topic: string): Promise<unknown> {
    const known = this.subscribersByTopic.get(topic);
    if (known) return Promise.resolve(known);
    const changes = this.subscriptionChanges;
    return (this.call('subscriptionsByTopic', topic) as Promise<Subscription[]>).then((found) => {
      // Kept unless a subscription changed while the inner store was looking (the list may predate the change).
      if (changes === this.subscriptionChanges) {
        // Bounded: a broker that sees many distinct topics starts over rather than grow.
        if (this.subscribersByTopic.size >= SUBSCRIBERS_CACHE_SIZE) this.subscribersByTopic.clear();
        this.subscribersByTopic.set(topic, found);
      }
      return found;
    });
  }

  /**
   * The persistent subscriptions matching `topic` when a lookup has already found them and nothing changed since,
   * else undefined (then ask subscriptionsByTopic). Lets the router queue and deliver a message in one go.
   */
  subscribersNow(topic: string): Subscription[] | undefined {
    return this.subscribersByTopic.get(topic);
  }

  countOffline(): Promise<unknown> {
    return this.call('countOffline') as Promise<unknown>;
  }

  getClientList(topic: string): Readable {
    return this.call('getClientList', topic) as Readable;
  }

  // --- queued QoS 1/2 messages of persistent sessions: kept here, indexed, not in the inner store

  async outgoingEnqueue(sub: { clientId: string }, packet: StoredPacket): Promise<void> {
    this.outgoing.enqueue(sub.clientId, packet);
  }

  async outgoingEnqueueCombi(subs: { clientId: string }[], packet: StoredPacket): Promise<void> {
    this.outgoingEnqueueNow(subs ?? [], packet);
  }

  /** outgoingEnqueueCombi without the promise, for the MessageRouter: queued when it returns. */
  outgoingEnqueueNow(subs: { clientId: string }[], packet: StoredPacket): void {
    for (const sub of subs) this.outgoing.enqueue(sub.clientId, packet);
  }

  /** How many messages are queued for a client, and their payload bytes, now. */
  outgoingQueued(clientId: string): { count: number; bytes: number } {
    return this.outgoing.queued(clientId);
  }

  /** Identifiers of the inbound QoS 2 messages a client has not released (PUBREL), kept across its connections. */
  incomingIds(clientId: string): number[] {
    return [...(this.incoming.get(clientId)?.keys() ?? [])];
  }

  /** Payload bytes of those messages; `except`: one identifier not to count (a message stored again). */
  incomingBytes(clientId: string, except?: number): number {
    let total = 0;
    for (const [id, bytes] of this.incoming.get(clientId) ?? []) if (id !== except) total += bytes;
    return total;
  }

  async outgoingUpdate(client: ClientRef, packet: StoredPacket): Promise<void> {
    if (!this.outgoingUpdateNow(client.id, packet)) throw new Error('no such packet');
  }

  /** outgoingUpdate without the promise, for the delivery window: false when there is no such message. */
  outgoingUpdateNow(clientId: string, packet: StoredPacket): boolean {
    return this.outgoing.update(clientId, packet);
  }

  async outgoingClearMessageId(client: ClientRef, packet: StoredPacket): Promise<StoredPacket | undefined> {
    return this.outgoingClearNow(client.id, packet);
  }

  /** outgoingClearMessageId without the promise, for acknowledgements read by MessageFlow. */
  outgoingClearNow(clientId: string, packet: StoredPacket): StoredPacket | undefined {
    return this.outgoing.clear(clientId, packet);
  }

  outgoingStream(client: ClientRef): Readable {
    return Readable.from(this.outgoing.packets(client.id));
  }

  // --- inbound QoS 2 messages waiting for PUBREL

  async incomingStorePacket(client: ClientRef, packet: StoredPacket): Promise<void> {
    await this.call('incomingStorePacket', client, packet);
    let ids = this.incoming.get(client.id);
    if (!ids) this.incoming.set(client.id, (ids = new Map()));
    ids.set(packet.messageId!, packet.payload?.length ?? 0);
    this.pending.set(incomingKey(client.id, packet.messageId!), { value: { ...packet } });
  }

  incomingGetPacket(client: ClientRef, packet: StoredPacket): Promise<unknown> {
    return this.call('incomingGetPacket', client, packet) as Promise<unknown>;
  }

  async incomingDelPacket(client: ClientRef, packet: StoredPacket): Promise<void> {
    await this.call('incomingDelPacket', client, packet);
    const ids = this.incoming.get(client.id);
    ids?.delete(packet.messageId!);
    if (ids?.size === 0) this.incoming.delete(client.id);
    this.forget(incomingKey(client.id, packet.messageId!));
  }

  async cleanIncoming(client: ClientRef): Promise<void> {
    await this.call('cleanIncoming', client);
    const ids = this.incoming.get(client.id);
    if (!ids) return;
    this.incoming.delete(client.id);
    for (const id of ids.keys()) this.forget(incomingKey(client.id, id));
  }

  // --- wills

  async putWill(client: ClientRef, packet: StoredPacket): Promise<void> {
    await this.call('putWill', client, packet);
    this.pending.set(WILL + encodeURIComponent(client.id), { value: { ...packet } });
  }

  getWill(client: ClientRef): Promise<unknown> {
    return this.call('getWill', client) as Promise<unknown>;
  }

  async delWill(client: ClientRef): Promise<unknown> {
    const will = await this.call('delWill', client);
    if (will) this.forget(WILL + encodeURIComponent(client.id));
    return will;
  }

  streamWill(brokers: unknown): Readable {
    return this.call('streamWill', brokers) as Readable;
  }

  // --- internals

  private call(method: string, ...args: unknown[]): unknown {
    return (this.inner[method] as (...a: unknown[]) => unknown).apply(this.inner, args);
  }

  /** Deletes `key`: a delete for the disk if it was written, else just drop the pending write. */
  private forget(key: string): void {
    if (this.written.has(key)) this.pending.set(key, null);
    else this.pending.delete(key);
  }

  private async writePending(): Promise<void> {
    for (const clientId of this.dirtySubscriptions) {
      const subs = await this.subscriptionsByClient({ id: clientId });
      const key = SUBSCRIPTIONS + encodeURIComponent(clientId);
      if (subs.length > 0) {
        this.storedSubscriptions.add(clientId);
        this.pending.set(key, { value: { clientId, subs } });
      } else if (this.storedSubscriptions.delete(clientId)) {
        this.forget(key);
      }
    }
    this.dirtySubscriptions.clear();
    const db = this.db;
    if (!db) {
      this.pending.clear();
      this.outgoing.discardChanges();
      return;
    }
    // After a failure an empty write is still tried: it is what finds the disk writable again.
    if (this.pending.size === 0 && !this.outgoing.hasChanges && !this.failure) return;
    const changes = this.pending;
    this.pending = new Map();
    const queued = this.outgoing.takeChanges();
    // Messages queued and acknowledged within the interval leave nothing to write.
    if (changes.size === 0 && queued.puts.length === 0 && queued.deletes.length === 0 && !this.failure) return;
    const ops: JournalOp[] = [];
    for (const [key, change] of changes) {
      // `written` is updated now, not after the write: a key forgotten while the batch is in flight must be deleted.
      if (change) {
        ops.push({ type: 'put', key, value: serialize(change.value) });
        this.written.add(key);
      } else {
        ops.push({ type: 'del', key });
        this.written.delete(key);
      }
    }
    for (const [key, value] of queued.puts) ops.push({ type: 'put', key, value });
    for (const key of queued.deletes) ops.push({ type: 'del', key });
    try {
      // LevelDB refuses every write after a failed one until it is reopened.
      if (this.failure) await db.reopen();
      await db.write(ops);
    } catch (error) {
      // Nothing of the batch is on disk: queue its changes again, unless a newer change of the same key is waiting.
      for (const [key, change] of changes) {
        if (!change) this.written.add(key);
        if (!this.pending.has(key)) this.pending.set(key, change);
      }
      queued.restore();
      this.failed(error as Error);
      return;
    }
    this.succeeded();
  }

  /** Keeps running in memory and tries again after a backoff; the events say when a run of failures starts. */
  private failed(error: Error): void {
    const now = Date.now();
    if (this.failure) {
      this.failure.failedWrites++;
      this.failure.error = error;
      this.retryDelayMs = Math.min(this.retryMaxMs, this.retryDelayMs * 2);
    } else {
      this.failure = { since: now, failedWrites: 1, error };
      this.retryDelayMs = this.retryInitialMs;
    }
    this.retryAt = now + this.retryDelayMs;
    this.events.writeFailed?.(this.failure);
  }

  private succeeded(): void {
    const failure = this.failure;
    if (!failure) return;
    this.failure = undefined;
    this.retryDelayMs = 0;
    this.events.recovered?.(failure, Date.now() - failure.since);
  }

  /** Loads the journal into the memory store. */
  private async load(db: JournalStore, broker: { id: string; counter: number }): Promise<void> {
    for await (const [key, blob] of db.entries()) {
      if (key === VERSION_KEY) continue;
      const [prefix, rest] = [key.slice(0, 2), key.slice(2)];
      if (prefix === OUTGOING_PREFIX) {
        const packet = decodeStoredPacket(blob);
        this.outgoing.restore(key, packet);
        // Packets of this broker id keep their counters: continue after them, or new packets would collide.
        if (packet.brokerId === broker.id) broker.counter = Math.max(broker.counter, packet.brokerCounter ?? 0);
        continue;
      }
      this.written.add(key);
      const value = deserialize(blob) as StoredPacket & { clientId?: string; subs?: Subscription[] };
      switch (prefix) {
        case RETAINED:
          await this.call('storeRetained', value);
          break;
        case SUBSCRIPTIONS:
          await this.call('addSubscriptions', { id: value.clientId }, value.subs);
          this.storedSubscriptions.add(value.clientId!);
          break;
        case INCOMING: {
          const clientId = decodeURIComponent(rest.slice(0, rest.lastIndexOf(':')));
          await this.call('incomingStorePacket', { id: clientId }, value);
          let ids = this.incoming.get(clientId);
          if (!ids) this.incoming.set(clientId, (ids = new Map()));
          ids.set(value.messageId!, value.payload?.length ?? 0);
          break;
        }
        case WILL:
          await this.call('putWill', { id: decodeURIComponent(rest) }, value);
          break;
        default:
          break;
      }
    }
    try {
      await db.put(VERSION_KEY, serialize(1));
    } catch (error) {
      // A full disk at start: serve from memory and retry, as after any failed write.
      this.failed(error as Error);
    }
  }
}

function incomingKey(clientId: string, messageId: number): string {
  return `${INCOMING}${encodeURIComponent(clientId)}:${messageId}`;
}

