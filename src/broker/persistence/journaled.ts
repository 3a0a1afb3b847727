import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { deserialize, serialize } from 'node:v8';
import type { ClassicLevel } from 'classic-level';
import type { AedesPersistence } from '../persistence.js';

const require = createRequire(import.meta.url);
/** aedes' own packet copy: keeps brokerId/brokerCounter, resets the messageId of QoS > 0 packets. */
const Packet = require('aedes-packet') as new (packet: object) => PacketLike;

/** How often changes are written to disk (one LevelDB batch). */
export const DEFAULT_FLUSH_INTERVAL_MS = 100;

// Keys. Client ids are encodeURIComponent'ed so ':' separates fields unambiguously.
const RETAINED = 'r:';
const SUBSCRIPTIONS = 's:';
const OUTGOING = 'o:';
const INCOMING = 'i:';
const WILL = 'w:';
const VERSION_KEY = 'journal-version';

interface ClientRef {
  id: string;
}
interface PacketLike {
  cmd?: string;
  topic?: string;
  payload?: Buffer;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  [field: string]: unknown;
}
interface Subscription {
  topic: string;
  qos: number;
  [field: string]: unknown;
}
interface OutgoingEntry {
  /** Disk key; its sequence number also orders the queue. */
  key: string;
  brokerKey: string | undefined;
  messageId: number | undefined;
  /** What is sent (and resent after a restart): the PUBLISH, or the PUBREL that replaced it. */
  packet: PacketLike;
}
/**
 * One client's queued QoS 1/2 messages. aedes' memory store keeps them in an array and scans it on every delivery
 * and acknowledgement, O(queue) each: a subscriber a few thousand messages behind made that the broker's hot spot.
 */
interface OutgoingQueue {
  /** `o:<client id>:`, the disk keys' prefix. */
  keyPrefix: string;
  /** In queue order (Map iteration order is insertion order). */
  entries: Map<string, OutgoingEntry>;
  byBrokerKey: Map<string, OutgoingEntry>;
  byMessageId: Map<number, OutgoingEntry>;
}

type Change = { value: object } | null;

/**
 * Durable persistence that is fast on the hot path: aedes' in-memory persistence serves every read and write, and
 * the changes to durable state (retained messages, persistent sessions' subscriptions, their queued QoS 1/2
 * messages, inbound QoS 2 messages, wills) are written behind to LevelDB as one synced batch every
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
  private readonly outgoing = new Map<string, OutgoingQueue>();
  private readonly incoming = new Map<string, Set<number>>();
  /** Keys on disk (or in a batch being written), so deleting anything else needs no disk write. */
  private readonly written = new Set<string>();
  private sequence = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private flushError: Error | undefined;

  constructor(
    private readonly db: ClassicLevel<string, Buffer>,
    private readonly inner: AedesPersistence,
    private readonly flushIntervalMs = DEFAULT_FLUSH_INTERVAL_MS,
    private readonly onFlushError: (error: Error) => void = () => {},
  ) {}

  [method: string]: unknown;

  get broker(): unknown {
    return this.inner.broker;
  }

  async setup(broker: unknown): Promise<void> {
    await this.inner.setup(broker);
    await this.load(broker as { id: string; counter: number });
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  /** Writes every pending change; resolves when they are on disk. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  async destroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    await (this.inner.destroy as () => Promise<void>)();
    await this.db.close();
  }

  // --- retained

  async storeRetained(packet: PacketLike): Promise<void> {
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
    await this.call('addSubscriptions', client, subs);
    this.dirtySubscriptions.add(client.id);
  }

  async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    await this.call('removeSubscriptions', client, topics);
    if (this.storedSubscriptions.has(client.id)) this.dirtySubscriptions.add(client.id);
  }

  async cleanSubscriptions(client: ClientRef): Promise<void> {
    await this.call('cleanSubscriptions', client);
    if (this.storedSubscriptions.has(client.id)) this.dirtySubscriptions.add(client.id);
  }

  subscriptionsByClient(client: ClientRef): Promise<Subscription[]> {
    return this.call('subscriptionsByClient', client) as Promise<Subscription[]>;
  }

  subscriptionsByTopic(topic: string): Promise<unknown> {
    return this.call('subscriptionsByTopic', topic) as Promise<unknown>;
  }

  countOffline(): Promise<unknown> {
    return this.call('countOffline') as Promise<unknown>;
  }

  getClientList(topic: string): Readable {
    return this.call('getClientList', topic) as Readable;
  }

  // --- queued QoS 1/2 messages of persistent sessions: kept here, indexed, not in the inner store

  async outgoingEnqueue(sub: { clientId: string }, packet: PacketLike): Promise<void> {
    this.enqueue(sub.clientId, packet);
  }

  async outgoingEnqueueCombi(subs: { clientId: string }[], packet: PacketLike): Promise<void> {
    for (const sub of subs ?? []) this.enqueue(sub.clientId, packet);
  }

  async outgoingUpdate(client: ClientRef, packet: PacketLike): Promise<void> {
    const queue = this.outgoing.get(client.id);
    if (!queue) throw new Error('no such packet');
    // aedes' own rule: the same broker key is a (re)delivery getting its packet identifier; otherwise the packet
    // with this identifier is replaced: the PUBREL of a QoS 2 exchange takes the place of its PUBLISH, and after a
    // reconnect that PUBREL comes back re-wrapped, under a new broker key.
    const sameMessage = packet.brokerId ? queue.byBrokerKey.get(brokerKey(packet)) : undefined;
    if (sameMessage) {
      if (sameMessage.messageId !== undefined && queue.byMessageId.get(sameMessage.messageId) === sameMessage) {
        queue.byMessageId.delete(sameMessage.messageId);
      }
      sameMessage.messageId = packet.messageId;
      sameMessage.packet.messageId = packet.messageId;
      if (packet.messageId !== undefined) queue.byMessageId.set(packet.messageId, sameMessage);
      this.pending.set(sameMessage.key, { value: sameMessage.packet });
      return;
    }
    const replaced = packet.messageId === undefined ? undefined : queue.byMessageId.get(packet.messageId);
    if (!replaced) throw new Error('no such packet');
    if (replaced.brokerKey && queue.byBrokerKey.get(replaced.brokerKey) === replaced) queue.byBrokerKey.delete(replaced.brokerKey);
    replaced.brokerKey = packet.brokerId ? brokerKey(packet) : undefined;
    if (replaced.brokerKey) queue.byBrokerKey.set(replaced.brokerKey, replaced);
    replaced.packet = packet;
    this.pending.set(replaced.key, { value: packet });
  }

  async outgoingClearMessageId(client: ClientRef, packet: PacketLike): Promise<PacketLike | undefined> {
    const queue = this.outgoing.get(client.id);
    if (!queue) return undefined;
    // Without an identifier (a message aedes decided not to forward: ACL, no-local), it is found by broker key.
    const entry =
      packet.messageId !== undefined
        ? queue.byMessageId.get(packet.messageId)
        : packet.brokerId
          ? queue.byBrokerKey.get(brokerKey(packet))
          : undefined;
    if (!entry) return undefined;
    queue.entries.delete(entry.key);
    if (entry.messageId !== undefined && queue.byMessageId.get(entry.messageId) === entry) queue.byMessageId.delete(entry.messageId);
    if (entry.brokerKey && queue.byBrokerKey.get(entry.brokerKey) === entry) queue.byBrokerKey.delete(entry.brokerKey);
    if (queue.entries.size === 0) this.outgoing.delete(client.id);
    this.forget(entry.key);
    return entry.packet;
  }

  outgoingStream(client: ClientRef): Readable {
    // A snapshot: the queue changes while aedes streams it.
    return Readable.from([...(this.outgoing.get(client.id)?.entries.values() ?? [])].map((entry) => entry.packet));
  }

  // --- inbound QoS 2 messages waiting for PUBREL

  async incomingStorePacket(client: ClientRef, packet: PacketLike): Promise<void> {
    await this.call('incomingStorePacket', client, packet);
    let ids = this.incoming.get(client.id);
    if (!ids) this.incoming.set(client.id, (ids = new Set()));
    ids.add(packet.messageId!);
    this.pending.set(incomingKey(client.id, packet.messageId!), { value: { ...packet } });
  }

  incomingGetPacket(client: ClientRef, packet: PacketLike): Promise<unknown> {
    return this.call('incomingGetPacket', client, packet) as Promise<unknown>;
  }

  async incomingDelPacket(client: ClientRef, packet: PacketLike): Promise<void> {
    await this.call('incomingDelPacket', client, packet);
    this.incoming.get(client.id)?.delete(packet.messageId!);
    this.forget(incomingKey(client.id, packet.messageId!));
  }

  async cleanIncoming(client: ClientRef): Promise<void> {
    await this.call('cleanIncoming', client);
    const ids = this.incoming.get(client.id);
    if (!ids) return;
    this.incoming.delete(client.id);
    for (const id of ids) this.forget(incomingKey(client.id, id));
  }

  // --- wills

  async putWill(client: ClientRef, packet: PacketLike): Promise<void> {
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

  private queueOf(clientId: string): OutgoingQueue {
    let queue = this.outgoing.get(clientId);
    if (!queue) {
      const keyPrefix = `${OUTGOING}${encodeURIComponent(clientId)}:`;
      this.outgoing.set(clientId, (queue = { keyPrefix, entries: new Map(), byBrokerKey: new Map(), byMessageId: new Map() }));
    }
    return queue;
  }

  private enqueue(clientId: string, packet: PacketLike): void {
    const queue = this.queueOf(clientId);
    const key = queue.keyPrefix + (++this.sequence).toString(36).padStart(11, '0');
    const entry: OutgoingEntry = { key, brokerKey: brokerKey(packet), messageId: undefined, packet: new Packet(packet) };
    queue.entries.set(key, entry);
    queue.byBrokerKey.set(entry.brokerKey!, entry);
    this.pending.set(key, { value: entry.packet });
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
    if (this.pending.size === 0) return;
    const changes = this.pending;
    this.pending = new Map();
    const batch = this.db.batch();
    for (const [key, change] of changes) {
      // `written` is updated now, not after the write: a key forgotten while the batch is in flight must be deleted.
      if (change) {
        batch.put(key, serialize(toStored(key, change.value)));
        this.written.add(key);
      } else {
        batch.del(key);
        this.written.delete(key);
      }
    }
    try {
      // Not { sync: true }: an fsync on every flush stalled delivery for 150-300 ms (p99 of the 2,000 msg/s bench
      // went from 3.6 ms to 145-322 ms), and aedes-persistence-level never synced either.
      await batch.write();
      this.flushError = undefined;
    } catch (error) {
      // Nothing of the batch is on disk: queue its changes again, unless a newer change of the same key is waiting.
      for (const [key, change] of changes) {
        if (!change) this.written.add(key);
        if (!this.pending.has(key)) this.pending.set(key, change);
      }
      // Keep running in memory; say so once per failure streak.
      if (!this.flushError) this.onFlushError(error as Error);
      this.flushError = error as Error;
    }
  }

  /** Loads the journal into the memory store. */
  private async load(broker: { id: string; counter: number }): Promise<void> {
    const queued = new Map<string, { key: string; packet: PacketLike }[]>();
    for await (const [key, blob] of this.db.iterator()) {
      if (key === VERSION_KEY) continue;
      this.written.add(key);
      const value = deserialize(blob) as PacketLike & { clientId?: string; subs?: Subscription[] };
      const [prefix, rest] = [key.slice(0, 2), key.slice(2)];
      switch (prefix) {
        case RETAINED:
          await this.call('storeRetained', value);
          break;
        case SUBSCRIPTIONS:
          await this.call('addSubscriptions', { id: value.clientId }, value.subs);
          this.storedSubscriptions.add(value.clientId!);
          break;
        case OUTGOING: {
          const clientId = decodeURIComponent(rest.slice(0, rest.lastIndexOf(':')));
          let list = queued.get(clientId);
          if (!list) queued.set(clientId, (list = []));
          list.push({ key, packet: value });
          this.sequence = Math.max(this.sequence, parseInt(key.slice(key.lastIndexOf(':') + 1), 36));
          break;
        }
        case INCOMING: {
          const clientId = decodeURIComponent(rest.slice(0, rest.lastIndexOf(':')));
          await this.call('incomingStorePacket', { id: clientId }, value);
          let ids = this.incoming.get(clientId);
          if (!ids) this.incoming.set(clientId, (ids = new Set()));
          ids.add(value.messageId!);
          break;
        }
        case WILL:
          await this.call('putWill', { id: decodeURIComponent(rest) }, value);
          break;
        default:
          break;
      }
    }
    for (const [clientId, list] of queued) {
      const queue = this.queueOf(clientId);
      for (const { key, packet } of list) {
        const entry: OutgoingEntry = {
          key,
          brokerKey: packet.brokerId ? brokerKey(packet) : undefined,
          messageId: packet.messageId,
          packet,
        };
        queue.entries.set(key, entry);
        if (entry.brokerKey) queue.byBrokerKey.set(entry.brokerKey, entry);
        if (entry.messageId !== undefined) queue.byMessageId.set(entry.messageId, entry);
        // Packets of this broker id keep their counters: continue after them, or new packets would collide.
        if (packet.brokerId === broker.id) broker.counter = Math.max(broker.counter, packet.brokerCounter ?? 0);
      }
    }
    await this.db.put(VERSION_KEY, serialize(1));
  }
}

function brokerKey(packet: PacketLike): string {
  return `${packet.brokerId}:${packet.brokerCounter}`;
}

function incomingKey(clientId: string, messageId: number): string {
  return `${INCOMING}${encodeURIComponent(clientId)}:${messageId}`;
}

const OUTGOING_FIELDS = ['cmd', 'topic', 'payload', 'qos', 'retain', 'dup', 'messageId', 'brokerId', 'brokerCounter', 'properties', 'messageExpiry'];

/** What is written: the packet's own fields (a class instance serializes as a plain object anyway). */
function toStored(key: string, value: object): object {
  if (!key.startsWith(OUTGOING)) return value;
  const stored: Record<string, unknown> = {};
  for (const field of OUTGOING_FIELDS) {
    const v = (value as PacketLike)[field];
    if (v !== undefined) stored[field] = v;
  }
  return stored;
}
