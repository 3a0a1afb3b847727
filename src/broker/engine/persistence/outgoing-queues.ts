import { SmallMap } from '../small-map.js';
import { encodeStoredPacket, type StoredPacket } from './packet-codec.js';

export const OUTGOING_PREFIX = 'o:';

interface OutgoingEntry {
  /** Queue order, and the end of the disk key. */
  sequence: number;
  queue: OutgoingQueue;
  brokerKey: number | string | undefined;
  /** This client's packet identifier for the message (the packet itself may be shared with other clients). */
  messageId: number | undefined;
  /**
   * What is sent (and resent after a restart): the PUBLISH, or the PUBREL that replaced it. A PUBLISH is the very
   * object aedes routes, shared by every client it is queued for, and never changed here.
   */
  packet: StoredPacket;
  /** On disk, or in a batch being written: removing it takes a delete. */
  onDisk: boolean;
  /** Payload bytes counted in its queue's `bytes`. */
  bytes: number;
  /** Changed since the last flush (and listed in `dirty`). */
  dirty: boolean;
  removed: boolean;
}

/**
 * One client's queued QoS 1/2 messages. aedes' memory store keeps them in an array and scans it on every delivery
 * and acknowledgement, O(queue) each: a subscriber a few thousand messages behind made that the broker's hot spot.
 */
interface OutgoingQueue {
  clientId: string;
  /** Emptied, and listed in `emptied`. */
  emptied: boolean;
  /** Flushes it has stayed empty through; reset by any new message. */
  idleFlushes: number;
  /** `o:<client id>:`, the disk keys' prefix. */
  keyPrefix: string;
  /** Payload bytes of its entries (as enqueued). */
  bytes: number;
  /** In queue order (insertion order). */
  entries: SmallMap<number, OutgoingEntry>;
  byBrokerKey: SmallMap<number | string, OutgoingEntry>;
  byMessageId: SmallMap<number, OutgoingEntry>;
}

/** Writes for the next batch. */
export interface OutgoingChanges {
  puts: [key: string, value: Buffer][];
  deletes: string[];
  /** To call when the batch failed: its changes come back for the next one. */
  restore(): void;
}

/**
 * The queued messages of persistent sessions, indexed by queue order, broker key (aedes' brokerId + brokerCounter)
 * and packet identifier, with what changed since the last flush. Nothing here builds a string or encodes a packet
 * on the hot path: disk keys and records are made at flush time, and only for messages still queued then, so a
 * message acknowledged within the flush interval costs a few Map operations.
 */
export class OutgoingQueues {
  private readonly queues = new Map<string, OutgoingQueue>();
  /** Entries changed since the last flush; removed ones are skipped then (cheaper than deleting from a Set). */
  private dirty: OutgoingEntry[] = [];
  private deletes: string[] = [];
  /**
   * Queues that ran empty, dropped once they have stayed empty through a whole flush interval. Dropping them at once
   * would rebuild a connected subscriber's queue (three SmallMaps and its key prefix) for every message it
   * acknowledges before the next one; dropping them at the next flush, every few messages (at 40 msg/s, a third of
   * the bytes allocated per delivery to a persistent session went to rebuilt queues).
   */
  private emptied: OutgoingQueue[] = [];
  private sequence = 0;
  /** Packets of this broker are indexed by their counter alone (a number); others by `id:counter`. */
  private brokerId: string | undefined;

  setBrokerId(id: string): void {
    this.brokerId = id;
  }

  enqueue(clientId: string, packet: StoredPacket): void {
    const queue = this.queueOf(clientId);
    queue.idleFlushes = 0;
    const entry: OutgoingEntry = {
      sequence: ++this.sequence,
      queue,
      brokerKey: this.brokerKeyOf(packet),
      messageId: undefined,
      packet,
      onDisk: false,
      bytes: payloadBytes(packet),
      dirty: true,
      removed: false,
    };
    queue.bytes += entry.bytes;
    queue.entries.set(entry.sequence, entry);
    if (entry.brokerKey !== undefined) queue.byBrokerKey.set(entry.brokerKey, entry);
    this.dirty.push(entry);
  }

  /** aedes' outgoingUpdate; false when there is no such message. */
  update(clientId: string, packet: StoredPacket): boolean {
    const queue = this.queues.get(clientId);
    if (!queue) return false;
    // aedes' own rule: the same broker key is a (re)delivery getting its packet identifier; otherwise the packet
    // with this identifier is replaced: the PUBREL of a QoS 2 exchange takes the place of its PUBLISH, and after a
    // reconnect that PUBREL comes back re-wrapped, under a new broker key.
    const key = this.brokerKeyOf(packet);
    const sameMessage = key === undefined ? undefined : queue.byBrokerKey.get(key);
    if (sameMessage) {
      if (sameMessage.messageId !== undefined && queue.byMessageId.get(sameMessage.messageId) === sameMessage) {
        queue.byMessageId.delete(sameMessage.messageId);
      }
      sameMessage.messageId = packet.messageId;
      if (packet.messageId !== undefined) queue.byMessageId.set(packet.messageId, sameMessage);
      this.markDirty(sameMessage);
      return true;
    }
    const replaced = packet.messageId === undefined ? undefined : queue.byMessageId.get(packet.messageId);
    if (!replaced) return false;
    if (replaced.brokerKey !== undefined && queue.byBrokerKey.get(replaced.brokerKey) === replaced) queue.byBrokerKey.delete(replaced.brokerKey);
    replaced.brokerKey = key;
    if (key !== undefined) queue.byBrokerKey.set(key, replaced);
    replaced.packet = packet;
    this.markDirty(replaced);
    return true;
  }

  /** aedes' outgoingClearMessageId: by packet identifier, or by broker key for a message never sent. */
  clear(clientId: string, packet: StoredPacket): StoredPacket | undefined {
    const queue = this.queues.get(clientId);
    if (!queue) return undefined;
    let entry: OutgoingEntry | undefined;
    if (packet.messageId !== undefined) entry = queue.byMessageId.get(packet.messageId);
    else {
      const key = this.brokerKeyOf(packet);
      if (key !== undefined) entry = queue.byBrokerKey.get(key);
    }
    if (!entry) return undefined;
    queue.entries.delete(entry.sequence);
    queue.bytes -= entry.bytes;
    if (entry.messageId !== undefined && queue.byMessageId.get(entry.messageId) === entry) queue.byMessageId.delete(entry.messageId);
    if (entry.brokerKey !== undefined && queue.byBrokerKey.get(entry.brokerKey) === entry) queue.byBrokerKey.delete(entry.brokerKey);
    if (queue.entries.size === 0 && !queue.emptied) {
      queue.emptied = true;
      this.emptied.push(queue);
    }
    entry.removed = true;
    if (entry.onDisk) this.deletes.push(diskKey(entry));
    return entry.packet;
  }

  /** How many messages a client's queue holds, and their payload bytes. */
  queued(clientId: string): { count: number; bytes: number } {
    const queue = this.queues.get(clientId);
    return queue ? { count: queue.entries.size, bytes: queue.bytes } : { count: 0, bytes: 0 };
  }

  /** A snapshot of a client's queue, in order: the queue changes while aedes streams it. */
  packets(clientId: string): StoredPacket[] {
    const queue = this.queues.get(clientId);
    if (!queue) return [];
    return queue.entries.valueList().map((entry) =>
      entry.packet.messageId === entry.messageId ? entry.packet : { ...entry.packet, messageId: entry.messageId },
    );
  }

  /** A message read back from the disk at start (the journal's keys come in queue order). */
  restore(key: string, packet: StoredPacket): void {
    const clientEnd = key.lastIndexOf(':');
    const clientId = decodeURIComponent(key.slice(OUTGOING_PREFIX.length, clientEnd));
    const sequence = parseInt(key.slice(clientEnd + 1), 36);
    const queue = this.queueOf(clientId);
    const entry: OutgoingEntry = {
      sequence,
      queue,
      brokerKey: this.brokerKeyOf(packet),
      messageId: packet.messageId,
      packet,
      onDisk: true,
      bytes: payloadBytes(packet),
      dirty: false,
      removed: false,
    };
    queue.bytes += entry.bytes;
    queue.entries.set(sequence, entry);
    if (entry.brokerKey !== undefined) queue.byBrokerKey.set(entry.brokerKey, entry);
    if (entry.messageId !== undefined) queue.byMessageId.set(entry.messageId, entry);
    this.sequence = Math.max(this.sequence, sequence);
  }

  /** Everything changed since the last call, encoded for the disk; entries count as on disk from now. */
  takeChanges(): OutgoingChanges {
    const written: OutgoingEntry[] = [];
    const puts: [string, Buffer][] = [];
    for (const entry of this.dirty) {
      if (entry.removed || !entry.dirty) continue;
      entry.dirty = false;
      entry.onDisk = true;
      written.push(entry);
      puts.push([diskKey(entry), encodeStoredPacket(entry.packet, entry.messageId)]);
    }
    const deletes = this.deletes;
    this.dirty = [];
    this.deletes = [];
    this.dropEmptied();
    return {
      puts,
      deletes,
      restore: () => {
        // Nothing of the batch is on disk. Entries still queued are written again; the deletes are repeated (a
        // delete of a key that was never written is harmless).
        for (const entry of written) if (!entry.removed) this.markDirty(entry);
        this.deletes.push(...deletes);
      },
    };
  }

  /** Forgets what changed, for a store that writes nothing. */
  discardChanges(): void {
    for (const entry of this.dirty) entry.dirty = false;
    this.dirty = [];
    this.deletes = [];
    this.dropEmptied();
  }

  /** Sessions holding a queue (an emptied one counts until it is dropped). */
  get queueCount(): number {
    return this.queues.size;
  }

  get hasChanges(): boolean {
    return this.dirty.length > 0 || this.deletes.length > 0;
  }

  private dropEmptied(): void {
    const stillIdle: OutgoingQueue[] = [];
    for (const queue of this.emptied) {
      if (queue.entries.size > 0) {
        queue.emptied = false;
      } else if (queue.idleFlushes++ === 0) {
        stillIdle.push(queue);
      } else {
        queue.emptied = false;
        if (this.queues.get(queue.clientId) === queue) this.queues.delete(queue.clientId);
      }
    }
    this.emptied = stillIdle;
  }

  private markDirty(entry: OutgoingEntry): void {
    if (entry.dirty) return;
    entry.dirty = true;
    this.dirty.push(entry);
  }

  private queueOf(clientId: string): OutgoingQueue {
    let queue = this.queues.get(clientId);
    if (!queue) {
      queue = {
        clientId,
        emptied: false,
        idleFlushes: 0,
        keyPrefix: `${OUTGOING_PREFIX}${encodeURIComponent(clientId)}:`,
        bytes: 0,
        entries: new SmallMap(),
        byBrokerKey: new SmallMap(),
        byMessageId: new SmallMap(),
      };
      this.queues.set(clientId, queue);
    }
    return queue;
  }

  private brokerKeyOf(packet: StoredPacket): number | string | undefined {
    if (!packet.brokerId) return undefined;
    return packet.brokerId === this.brokerId ? packet.brokerCounter : `${packet.brokerId}:${packet.brokerCounter}`;
  }
}

function payloadBytes(packet: StoredPacket): number {
  const payload = (packet as { payload?: { length: number } }).payload;
  return payload ? payload.length : 0;
}

function diskKey(entry: OutgoingEntry): string {
  return entry.queue.keyPrefix + entry.sequence.toString(36).padStart(11, '0');
}
