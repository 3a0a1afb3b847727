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

/**
 * Mosquitto's max_queued_messages for persistent sessions: once `limit` QoS 1/2 messages wait for a client that is
 * offline, new ones for it are dropped (and counted by `onDrop`). A connected client is never limited here: aedes
 * delivers to it whatever the store says, and refusing to store a message it is about to send would break the
 * session. The count starts again when the client reconnects (its queue is sent then), and from zero after a
 * restart.
 */
export function limitQueuedMessages(
  persistence: AedesPersistence,
  limit: number,
  isConnected: (clientId: string) => boolean,
  onDrop: (clientId: string) => void,
): AedesPersistence {
  if (limit <= 0) return persistence;
  const queued = new Map<string, number>();
  const enqueue = persistence.outgoingEnqueueNow.bind(persistence);
  const stream = persistence.outgoingStream.bind(persistence);

  persistence.outgoingEnqueueNow = (subs, packet) => {
    const accepted = subs.filter((sub) => {
      if (isConnected(sub.clientId)) return true;
      const count = queued.get(sub.clientId) ?? 0;
      if (count >= limit) {
        onDrop(sub.clientId);
        return false;
      }
      queued.set(sub.clientId, count + 1);
      return true;
    });
    enqueue(accepted, packet);
  };
  persistence.outgoingStream = (client) => {
    queued.delete(client.id);
    return stream(client);
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

