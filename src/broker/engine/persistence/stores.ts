import { Transform, type Readable } from 'node:stream';
import { topicMatches } from '../../../mqtt/topic-match.js';
import type { Logger } from '../../../util/logger.js';
import { requireFromAedes } from '../aedes-internals.js';
import { LevelJournalStore, type JournalStore } from './journal-store.js';
import { DEFAULT_FLUSH_INTERVAL_MS, JournaledPersistence, type JournalEvents } from './journaled.js';

/** The aedes 1.x persistence contract, as far as this module touches it. */
export interface AedesPersistence {
  setup(broker: unknown): Promise<void>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: unknown): Promise<unknown>;
  /** The same, applied before it returns; outgoingEnqueueCombi goes through it. */
  outgoingEnqueueNow(subs: { clientId: string }[], packet: unknown): void;
  outgoingClearMessageId(client: { id: string }, packet: unknown): Promise<unknown>;
  createRetainedStreamCombi(patterns: string[]): Readable;
  outgoingStream(client: { id: string }): Readable;
  destroy(): Promise<void>;
  [method: string]: unknown;
}

type PersistenceConstructor = new (db?: unknown) => AedesPersistence;

export interface PersistenceSettings {
  flushIntervalMs?: number;
  /** Told of every failed write and of the recovery, besides the log. */
  events?: JournalEvents;
  /** Opens the disk store; LevelDB in `dir` unless given (tests inject failures with it). */
  openStore?: (dir: string) => Promise<JournalStore>;
}

/**
 * On disk (LevelDB in `dir`) so retained messages, persistent sessions' subscriptions and their queued QoS 1/2
 * messages survive a restart, and a power cut up to the last `flushIntervalMs` (see JournaledPersistence); in memory
 * when `dir` is undefined (tests, throwaway brokers): the same store without its journal.
 *
 * A failed write (a full SD card, an I/O error) does not stop the broker: the state is kept in memory, the write is
 * tried again with backoff until it succeeds, and the log says so once when the failures start and once when they end.
 */
export async function createPersistence(dir: string | undefined, logger: Logger, settings: PersistenceSettings = {}): Promise<JournaledPersistence> {
  const MemoryPersistence = requireFromAedes('aedes-persistence/asyncPersistence.js') as PersistenceConstructor;
  const flushIntervalMs = settings.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  if (dir === undefined) return new JournaledPersistence(undefined, new MemoryPersistence(), { flushIntervalMs });
  const log = logger.child({ module: 'persistence' });
  const store = await (settings.openStore ?? LevelJournalStore.open)(dir);
  log.info({ dir }, 'persistence on disk');
  const events = settings.events ?? {};
  // aedes-persistence-level costs ~250 µs of CPU per QoS 1 message to a persistent session (a put, a get and a batch
  // each); this keeps the live state in memory and writes it behind, batched.
  return new JournaledPersistence(store, new MemoryPersistence(), {
    flushIntervalMs,
    events: {
      writeFailed: (episode) => {
        if (episode.failedWrites === 1) {
          log.error({ err: episode.error, dir }, 'persistence write failed: state is kept in memory and written again when the disk takes it');
        }
        events.writeFailed?.(episode);
      },
      recovered: (episode, durationMs) => {
        log.info({ dir, failedWrites: episode.failedWrites, durationMs }, 'persistence writes again: everything kept in memory meanwhile is on disk');
        events.recovered?.(episode, durationMs);
      },
    },
  });
}

/** The store's own counts, where it keeps them (JournaledPersistence). */
interface CountingStore {
  outgoingQueued?(clientId: string): { count: number; bytes: number };
  incomingBytes?(clientId: string, except?: number): number;
}

/** Bounds on what is queued for one client; 0: none. */
export interface QueueBounds {
  messages: number;
  bytes: number;
}

/**
 * Mosquitto's max_queued_messages and max_queued_bytes for persistent sessions: once a client that is offline has
 * that many QoS 1/2 messages (or payload bytes) queued, new ones for it are dropped (and counted by `onDrop`). The
 * count is what the store holds for it, so it survives reconnects that acknowledge nothing (a count kept per
 * connection would let each one add another `limit`). A connected client is not limited here: aedes delivers to it
 * whatever the store says, and its delivery window applies the same bounds (delivery/outgoing-window.ts).
 */
export function limitQueuedMessages(
  persistence: AedesPersistence,
  bounds: QueueBounds,
  isConnected: (clientId: string) => boolean,
  onDrop: (clientId: string, limit: 'messages' | 'bytes') => void,
): AedesPersistence {
  const counts = (persistence as CountingStore).outgoingQueued?.bind(persistence);
  if ((bounds.messages <= 0 && bounds.bytes <= 0) || !counts) return persistence;
  const enqueue = persistence.outgoingEnqueueNow.bind(persistence);

  persistence.outgoingEnqueueNow = (subs, packet) => {
    const bytes = (packet as { payload?: { length: number } }).payload?.length ?? 0;
    const accepted = subs.filter((sub) => {
      if (isConnected(sub.clientId)) return true;
      const queued = counts(sub.clientId);
      if (bounds.messages > 0 && queued.count >= bounds.messages) {
        onDrop(sub.clientId, 'messages');
        return false;
      }
      if (bounds.bytes > 0 && queued.count > 0 && queued.bytes + bytes > bounds.bytes) {
        onDrop(sub.clientId, 'bytes');
        return false;
      }
      return true;
    });
    enqueue(accepted, packet);
  };
  return persistence;
}

/** A client's inbound QoS 2 messages not yet released (no PUBREL) would pass max_queued_bytes. */
export class InboundQos2LimitError extends Error {
  override readonly name = 'InboundQos2LimitError';
}

/**
 * Bounds the payload bytes of a client's inbound QoS 2 messages awaiting PUBREL, across its connections (aedes bounds
 * their number per connection only, `maxInflightInbound`): storing one more past `maxBytes` fails, and aedes then
 * closes the connection with that error. A message stored again under the same identifier (a DUP) is not counted twice.
 */
export function limitIncoming(persistence: AedesPersistence, maxBytes: number): AedesPersistence {
  const bytesOf = (persistence as CountingStore).incomingBytes?.bind(persistence);
  if (maxBytes <= 0 || !bytesOf) return persistence;
  const store = (persistence.incomingStorePacket as (client: { id: string }, packet: unknown) => Promise<void>).bind(persistence);
  // Bytes of stores still under way, per client: the store counts a packet only once it completes, and two PUBLISHes
  // of one read are stored concurrently, so without these both would see room for one.
  const storing = new Map<string, number>();
  persistence.incomingStorePacket = (client: { id: string }, packet: { messageId?: number; payload?: { length: number } }) => {
    const held = bytesOf(client.id, packet.messageId) + (storing.get(client.id) ?? 0);
    const bytes = packet.payload?.length ?? 0;
    if (held > 0 && held + bytes > maxBytes) {
      return Promise.reject(
        new InboundQos2LimitError(`inbound QoS 2 messages awaiting PUBREL would exceed max_queued_bytes ${maxBytes} (${held} bytes held)`),
      );
    }
    storing.set(client.id, (storing.get(client.id) ?? 0) + bytes);
    return store(client, packet).finally(() => {
      const left = (storing.get(client.id) ?? 0) - bytes;
      if (left > 0) storing.set(client.id, left);
      else storing.delete(client.id);
    });
  };
  return persistence;
}

/**
 * Calls `onAcknowledged` for every PUBACK and PUBCOMP that aedes itself handles: it hands each to the store to clear
 * the message, whatever the session, and tells nobody else. Those of a connected client are read by MessageFlow,
 * which frees the window's slot itself.
 */
export function observeAcknowledgements(
  persistence: AedesPersistence,
  onAcknowledged: (client: { id: string }, messageId: number) => void,
): AedesPersistence {
  const clear = persistence.outgoingClearMessageId.bind(persistence);
  persistence.outgoingClearMessageId = (client, packet) => {
    const result = clear(client, packet);
    const messageId = (packet as { messageId?: number }).messageId;
    if (messageId !== undefined) onAcknowledged(client, messageId);
    return result;
  };
  return persistence;
}

/**
 * Calls `onResend` each time aedes reads a client's queue to resend it, on CONNECT (handlers/connect.js emptyQueue),
 * with the client as aedes passes it; the read is a snapshot of the queue at that moment.
 */
export function observeResends(persistence: AedesPersistence, onResend: (client: { id: string }) => void): AedesPersistence {
  const stream = persistence.outgoingStream.bind(persistence);
  persistence.outgoingStream = (client) => {
    const queued = stream(client);
    onResend(client);
    return queued;
  };
  return persistence;
}

/**
 * MQTT-4.7.2-1: a filter starting with a wildcard must not match topics starting with `$`. aedes applies the rule to
 * live messages but not to the retained ones replayed on SUBSCRIBE, so `#` would receive every retained `$SYS`
 * value. Keep a `$` topic only when a filter that itself starts with `$` matches it.
 */
export function hideDollarTopicsFromWildcards(persistence: AedesPersistence): AedesPersistence {
  const stream = persistence.createRetainedStreamCombi.bind(persistence);
  persistence.createRetainedStreamCombi = (patterns) => {
    const dollarPatterns = patterns.filter((p) => p.startsWith('$'));
    return stream(patterns).pipe(
      new Transform({
        objectMode: true,
        transform(packet: { topic: string }, _encoding, done) {
          const visible = !packet.topic.startsWith('$') || dollarPatterns.some((p) => topicMatches(p, packet.topic));
          done(null, visible ? packet : undefined);
        },
      }),
    );
  };
  return persistence;
}

