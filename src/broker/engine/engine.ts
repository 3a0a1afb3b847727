import { Aedes, type AedesOptions, type Client } from 'aedes';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../util/logger.js';
import { internalsOf, type PacketLike } from './aedes-internals.js';
import { FlushScheduler } from './delivery/flush-scheduler.js';
import { createMessageEmitter } from './delivery/match-cache.js';
import { MessageFlow } from './delivery/message-flow.js';
import { MessageRouter, type PublishDone, type RouterHost, type RoutingStore } from './delivery/message-router.js';
import { OutgoingWindow } from './delivery/outgoing-window.js';
import { SessionWrites, type SessionQueueStore } from './delivery/session-writes.js';
import { SubscriptionRegistry } from './delivery/subscription-registry.js';
import { disablePacketNumberCache } from './packet-numbers.js';
import {
  createPersistence,
  hideDollarTopicsFromWildcards,
  InboundQos2LimitError,
  limitIncoming,
  limitQueuedMessages,
  observeAcknowledgements,
  observeResends,
  type AedesPersistence,
} from './persistence/stores.js';
import type { JournaledPersistence, JournalStatus } from './persistence/journaled.js';
import { checkPinnedVersions } from './versions.js';
import { coalesceWrites, writeNow } from './wire/coalesce-writes.js';
import { PacketReader, type PacketTaker, type QueueVerdict, type ReaderHooks, type WirePacket } from './wire/packet-reader.js';
import { PendingBudget } from './wire/pending-budget.js';
import { readFlowing } from './wire/read-loop.js';
import { ProtocolViolation } from './wire/mqtt-strings.js';

export { ProtocolViolation };
import { startsWithWildcard } from '../../mqtt/topic-match.js';

/**
 * The face of the MQTT engine: aedes 1.2 with our delivery, wire and persistence code patched in. Everything outside
 * src/broker/engine/ sees aedes only through the types and the class of this module (eslint enforces it).
 */

/** A connected (or connecting) client, as the rest of the broker may know it. */
export interface EngineClient {
  readonly id: string;
  /** The stream handed to handle(): for a TCP client its socket. */
  readonly conn: Duplex;
  /** A clean session: nothing kept after it disconnects. */
  readonly clean: boolean;
}

export interface EngineMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** A message as it is routed: what was published, and who published it. */
export interface RoutedMessage extends EngineMessage {
  /** The publishing client's id; undefined for an in-process publish. */
  readonly clientId?: string;
  /** What an in-process publisher marked its message with (a bridge marks what it brought in). */
  readonly origin?: string;
}

export interface EngineSubscription {
  topic: string;
  qos: 0 | 1 | 2;
}

/** A refusal of CONNECT; `returnCode` is the CONNACK code (MQTT 3.1.1 §3.2.2.3). */
export type ConnectRefusal = Error & { returnCode?: number };

/** The broker's decisions, asked by the engine as packets arrive. */
export interface EnginePolicy {
  /**
   * Before CONNECT is handled: false refuses the connection (max_connections) with CONNACK 3, server unavailable,
   * and closes it. Count against `DeliveryEngine.admittedConnections`: a slot is taken as soon as this returns true.
   */
  admit(client: EngineClient): boolean;
  authenticate(client: EngineClient, username: string | undefined, password: Buffer | undefined, done: (error: ConnectRefusal | null, ok: boolean | null) => void): void;
  /**
   * Why a client's PUBLISH must be dropped, or undefined to route it. Asked synchronously as the packet is read; a
   * dropped PUBLISH is still acknowledged, as MQTT 3.1.1 and mosquitto do.
   */
  refusePublish(client: EngineClient, message: EngineMessage): string | undefined;
  /** Calls back with the subscription to grant, or null to refuse it (0x80 in SUBACK). */
  authorizeSubscribe(client: EngineClient, subscription: EngineSubscription, callback: (error: Error | null, granted: EngineSubscription | null) => void): void;
  /** Whether `message` may be delivered to `client` (read permission). */
  mayForward(client: EngineClient, message: RoutedMessage): boolean;
}

export interface EngineLimits {
  /** Largest PUBLISH payload; a packet announcing more is refused as its fixed header is read. 0: the protocol maximum. */
  messageSizeLimit: number;
  /** Bytes buffered for incomplete packets, all connections together; past it the connection holding most is closed. 0: no ceiling. */
  maxIncompleteBytes: number;
  /** Longest keepalive a client may ask for, in seconds; 65535: any. */
  maxKeepalive: number;
  /** Per client, waiting behind a full in-flight window or for an offline persistent session; 0: unlimited. */
  maxQueuedMessages: number;
  /** Per client, payload bytes of the messages counted by maxQueuedMessages; 0: unlimited. */
  maxQueuedBytes: number;
  /** QoS 1/2 messages sent to a client and not yet acknowledged; 0: unlimited. */
  maxInflightMessages: number;
  drainTimeoutMs: number;
}

export interface EngineOptions {
  /** The broker id: aedes' id, and the broker key of every routed message. */
  id: string;
  /** Directory of the on-disk store; undefined keeps everything in memory. */
  persistenceDir?: string;
  limits: EngineLimits;
  policy: EnginePolicy;
  logger: Logger;
  /** A message for `clientId` dropped because its queue was full: max_queued_messages or max_queued_bytes. */
  onQueueFull?(clientId: string, limit: 'messages' | 'bytes'): void;
  /** A client whose socket stayed full for drain_timeout: disconnected. */
  onDrainTimeout?(clientId: string): void;
  /**
   * A client cut off for its inbound QoS 2 messages awaiting PUBREL: too many (aedes' maxInflightInbound) or too
   * many bytes (max_queued_bytes), counted across its connections. `reason` says which.
   */
  onInboundQos2Limit?(client: EngineClient, reason: string): void;
  /**
   * A connection closed by the engine for a packet over the size limit, before buffering it. `limit` is the bound it
   * broke: CONNECT_SIZE_LIMIT for a connection's first packet, else the one derived from message_size_limit.
   */
  onOversizedPacket?(client: EngineClient, announcedBytes: number, limit: { first: boolean; bytes: number }): void;
  /** A connection closed because bytes buffered for incomplete packets went past maxIncompleteBytes; it held the most. */
  onIncompleteBudgetSpent?(client: EngineClient, heldBytes: number): void;
  /**
   * A connection closed for sending more than CONNECT_BACKLOG_BYTES of packets before its CONNECT was answered.
   * `queuedBytes` is what it had queued, the refused packet included.
   */
  onConnectBacklogFull?(client: EngineClient, queuedBytes: number): void;
  /** A write of the on-disk store failed; `failedWrites` counts the run of failures it belongs to (1: the first). */
  onStorageWriteFailed?(error: Error, failedWrites: number): void;
  /** The on-disk store writes again after a run of failures. */
  onStorageRecovered?(durationMs: number, failedWrites: number): void;
}

/** The on-disk store's state, for health(). */
export type StorageStatus = JournalStatus;

/** What the engine reports; the names and arguments of aedes' own events. */
export interface EngineEvents {
  client: (client: EngineClient) => void;
  clientDisconnect: (client: EngineClient) => void;
  subscribe: (subscriptions: EngineSubscription[], client: EngineClient) => void;
  unsubscribe: (filters: string[], client: EngineClient) => void;
  /** Every routed message, once all its subscribers have it; `client` is null for an in-process publish. */
  publish: (message: RoutedMessage, client: EngineClient | null) => void;
  clientError: (client: EngineClient, error: Error) => void;
  connectionError: (client: EngineClient, error: Error) => void;
  error: (error: Error) => void;
}

/** An in-process subscriber. A returned promise holds the message's publisher (its PUBACK) until it settles. */
export type LocalHandler = (message: RoutedMessage) => void | Promise<void>;

export interface LocalMessage extends EngineMessage {
  origin?: string;
}

const IDENTIFIER_REJECTED = 2;
/** How aedes' error starts when a client passes maxInflightInbound (handlers/publish.js). */
const AEDES_INBOUND_LIMIT = 'maxInflightInbound exceeded';
/** CONNACK with return code 3, server unavailable (MQTT 3.1.1 §3.2.2.3): mosquitto's answer at max_connections. */
const CONNACK_SERVER_UNAVAILABLE = Buffer.from([0x20, 0x02, 0x00, 0x03]);
const DOLLAR = 0x24;

/**
 * aedes with the engine's parts: its own store (JournaledPersistence behind the queue limit and the `$` rule), its own
 * routing (MessageRouter in place of aedes' publish pipeline), the client's delivery window, and a packet reader on
 * every connection. See docs/architecture.md for what each replaces and why.
 */
export class DeliveryEngine {
  private readonly log: Logger;
  /** PUBLISH packets refused by policy: acknowledged to the sender, never routed. */
  private readonly dropped = new WeakSet<object>();
  private readonly persistentWithoutId = new WeakSet<Client>();
  private readonly windows = new WeakMap<object, OutgoingWindow>();
  private readonly readers = new WeakMap<object, ConnectionReader>();
  private readonly flushes = new FlushScheduler();
  private readonly pendingBudget: PendingBudget;
  private readonly subscriptionRegistry = new SubscriptionRegistry();
  /** Connections admitted by the policy and not yet closed: what max_connections counts. */
  private admitted = 0;
  private sessionWrites!: SessionWrites;
  private store!: AedesPersistence;
  private journal!: JournaledPersistence;
  private aedes!: Aedes;

  private constructor(private readonly options: EngineOptions) {
    this.log = options.logger.child({ module: 'engine' });
    this.pendingBudget = new PendingBudget(options.limits.maxIncompleteBytes);
  }

  /**
   * Opens the store (and loads it, from disk when persistenceDir is set) and starts aedes. Refuses to run on other
   * versions of aedes and its parts than the pinned ones (versions.ts).
   * `aedesOverrides` replaces aedes options the engine sets: for aedes' own test suite only.
   */
  static async open(options: EngineOptions, aedesOverrides: Partial<AedesOptions> = {}): Promise<DeliveryEngine> {
    checkPinnedVersions();
    disablePacketNumberCache();
    const engine = new DeliveryEngine(options);
    await engine.start(aedesOverrides);
    return engine;
  }

  private async start(overrides: Partial<AedesOptions>): Promise<void> {
    const { limits, policy } = this.options;
    this.journal = await createPersistence(this.options.persistenceDir, this.log, {
      events: {
        writeFailed: (episode) => this.options.onStorageWriteFailed?.(episode.error, episode.failedWrites),
        recovered: (episode, durationMs) => this.options.onStorageRecovered?.(durationMs, episode.failedWrites),
      },
    });
    const persistence = observeAcknowledgements(hideDollarTopicsFromWildcards(this.journal), (client, messageId) =>
      this.windows.get(client)?.acknowledged(messageId),
    );
    this.store = limitIncoming(
      limitQueuedMessages(
        observeResends(persistence, (client) => this.windows.get(client)?.resendStarted()),
        { messages: limits.maxQueuedMessages, bytes: limits.maxQueuedBytes },
        (clientId) => this.isConnected(clientId),
        (clientId, limit) => this.options.onQueueFull?.(clientId, limit),
      ),
      limits.maxQueuedBytes,
    );
    this.sessionWrites = new SessionWrites(this.store as unknown as SessionQueueStore);
    const aedesSysPrefix = `$SYS/${this.options.id}/`;
    const { emitter, matcher } = createMessageEmitter();
    const aedesOptions: Partial<AedesOptions> = {
      id: this.options.id,
      persistence: this.store as unknown as AedesOptions['persistence'],
      mq: emitter as unknown as AedesOptions['mq'],
      drainTimeout: limits.drainTimeoutMs,
      keepaliveLimit: limits.maxKeepalive < 65535 ? limits.maxKeepalive : 0,
      maxClientsIdLength: 65535,
      // Packets read while the CONNECT is being authenticated are queued by aedes; CONNECT_BACKLOG_BYTES bounds them
      // (ConnectionReader.queued), so the count never has to: a device flushing its queue with its CONNECT is served.
      queueLimit: CONNECT_BACKLOG_PACKETS,
      preConnect: (client, packet, callback) => {
        if (packet.password !== undefined && packet.username === undefined) {
          // MQTT-3.1.2-22; aedes speaks 3.1 and 3.1.1 only (MQTT 5 would allow it). Closed without CONNACK, as mosquitto does.
          callback(new ProtocolViolation('password without username (MQTT-3.1.2-22)'), false);
          return;
        }
        if (!policy.admit(client)) {
          callback(null, false);
          refuseConnection(client);
          return;
        }
        this.admit(client);
        if (!packet.clientId && packet.clean === false) this.persistentWithoutId.add(client);
        callback(null, true);
      },
      authenticate: (client, username, password, done) => {
        this.restoreInboundCount(client);
        if (this.persistentWithoutId.has(client)) {
          // MQTT-3.1.3-8: a persistent session needs an identifier to be found again.
          done(Object.assign(new Error('empty client id with clean session false'), { returnCode: IDENTIFIER_REJECTED }), false);
          return;
        }
        policy.authenticate(client, username, password, done as (error: ConnectRefusal | null, ok: boolean | null) => void);
      },
      authorizePublish: (client, packet, callback) => {
        // The QoS 2 path: aedes' own handler asks here. QoS 0 and 1 are screened by MessageFlow as they are read.
        if (client) this.screenPublish(client, packet as unknown as PacketLike);
        callback(null);
      },
      authorizeSubscribe: (client, subscription, callback) =>
        policy.authorizeSubscribe(client, subscription as EngineSubscription, callback as (error: Error | null, granted: EngineSubscription | null) => void),
      authorizeForward: (client, packet) => {
        // aedes' own announcements ($SYS/<id>/new/clients, .../new/subscribes...) carry client ids and filters:
        // for its internal listeners only.
        if (packet.topic.startsWith(aedesSysPrefix)) return null;
        return policy.mayForward(client, packet as unknown as RoutedMessage) ? packet : null;
      },
      ...overrides,
    };
    const aedes = await Aedes.createBroker(aedesOptions);
    this.aedes = aedes;
    this.wrapPreConnect(aedes);
    this.route(
      aedes,
      new MessageRouter(aedes as unknown as RouterHost, this.store as unknown as RoutingStore, matcher, emitter, this.subscriptionRegistry, this.flushes, this.sessionWrites),
    );
    (aedes as unknown as NodeJS.EventEmitter).on('error', (error: Error) => this.log.error({ err: error }, 'broker error'));
    (aedes as unknown as NodeJS.EventEmitter).on('clientError', (client: Client, error: Error) => {
      if (error instanceof InboundQos2LimitError || error.message.startsWith(AEDES_INBOUND_LIMIT)) this.options.onInboundQos2Limit?.(client, error.message);
    });
  }

  /**
   * aedes bounds a client's inbound QoS 2 messages awaiting PUBREL (`maxInflightInbound`) with a count it starts at
   * zero on every connection, while a persistent session's messages stay stored across them: a client reconnecting
   * without releasing anything could pile up another thousand each time. Starting the count from what the store
   * holds makes it a bound on the session. (A clean session's are wiped as it connects: nothing to restore.)
   */
  private restoreInboundCount(client: Client): void {
    const ids = (this.store as { incomingIds?: (clientId: string) => number[] }).incomingIds?.call(this.store, client.id);
    if (!client.clean && ids && ids.length > 0) (client as unknown as { _inboundInflight: Set<number> })._inboundInflight = new Set(ids);
  }

  /** Serves one connection: an MQTT stream (TCP, TLS or WebSocket). `socket` is the TCP socket underneath. */
  readonly handle = (stream: Duplex, socket?: Socket): void => {
    if (this.aedes.closed) {
      stream.destroy();
      return;
    }
    if (socket && stream === socket) coalesceWrites(socket);
    const client = this.aedes.handle(stream) as unknown as Client;
    // Every byte goes through the reader, CONNECT included, so a packet over the limit is refused before it is
    // buffered. The message flow joins it once the client is connecting (wrapPreConnect).
    const packetBytes = maxPacketBytes(this.options.limits.messageSizeLimit);
    const firstBytes = packetBytes > 0 ? Math.min(packetBytes, CONNECT_SIZE_LIMIT) : CONNECT_SIZE_LIMIT;
    const reader = new ConnectionReader(client, this.options.limits.messageSizeLimit, packetBytes, firstBytes, this.refuseOversized, this.refuseOverBudget, this.refuseBacklog);
    this.readers.set(client, reader);
    const packetReader = PacketReader.install(internalsOf(client)._parser, reader, this.pendingBudget);
    stream.once('close', () => packetReader.discard());
    readFlowing(client);
  };

  /**
   * TEST ONLY: the aedes instance underneath, for the adapter that runs aedes' own test suite against the engine
   * (test/broker/engine/aedes-suite/), whose tests read and patch the broker object they are handed. Nothing in
   * src/ may use it: the rest of the broker sees the engine through this class's other members.
   */
  get aedesForTestSuite(): Aedes {
    return this.aedes;
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  /**
   * Connections admitted (past CONNECT's preConnect) and not yet closed, connected or still authenticating. Counted
   * synchronously as each CONNECT is admitted, so connects racing each other cannot all see a free slot, as they
   * could with `connectedClients` (a client counts there only once authenticated and registered).
   */
  get admittedConnections(): number {
    return this.admitted;
  }

  isConnected(clientId: string): boolean {
    return (this.aedes as unknown as { clients: Record<string, { connected: boolean } | undefined> } | undefined)?.clients[clientId]?.connected === true;
  }

  get closed(): boolean {
    return this.aedes.closed;
  }

  /** Whether the on-disk store is writing (`failing`: changes are kept in memory until a retry succeeds). */
  storageStatus(): StorageStatus {
    return this.journal.status();
  }

  on<E extends keyof EngineEvents>(event: E, listener: EngineEvents[E]): void {
    (this.aedes as unknown as NodeJS.EventEmitter).on(event, listener as (...args: unknown[]) => void);
  }

  /** Publishes from inside the process: no policy, no socket. Resolves once routed (and queued for persistent sessions). */
  publish(message: LocalMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.aedes.publish(toPacket(message) as never, (error) => (error ? reject(error) : resolve()));
    });
  }

  /**
   * Subscribes in-process; returns the function that unsubscribes. Topics starting with `$` reach a filter starting
   * with a wildcard only if it names them (MQTT-4.7.2-1), as for clients.
   */
  subscribe(filter: string, handler: LocalHandler, onError: (error: unknown, message: RoutedMessage) => void): Promise<() => Promise<void>> {
    const aedes = this.aedes;
    const blocksDollar = startsWithWildcard(filter);
    const deliver = (packet: PacketLike, done: () => void) => {
      if (blocksDollar && packet.topic.charCodeAt(0) === DOLLAR) {
        done();
        return;
      }
      const message = toRoutedMessage(packet);
      let result: void | Promise<void>;
      try {
        result = handler(message);
      } catch (error) {
        onError(error, message);
        done();
        return;
      }
      if (result && typeof result.then === 'function') {
        result.then(done, (error: unknown) => {
          onError(error, message);
          done();
        });
      } else {
        done();
      }
    };
    return new Promise((resolve) => {
      aedes.subscribe(filter, deliver as never, () =>
        resolve(() => new Promise<void>((done) => (aedes.closed ? done() : aedes.unsubscribe(filter, deliver as never, () => done())))),
      );
    });
  }

  /** Retained messages whose topics match any of `filters`, read from the store. */
  async retained(filters: string[]): Promise<RoutedMessage[]> {
    const found: RoutedMessage[] = [];
    for await (const packet of this.store.createRetainedStreamCombi(filters)) found.push(toRoutedMessage(packet as PacketLike));
    return found;
  }

  /** The persistent sessions the store holds (from disk, at start), with their subscription filters. */
  async persistentSessions(): Promise<Map<string, string[]>> {
    const restored = (this.store as { restoredSubscriptions?: () => Promise<Map<string, string[]>> }).restoredSubscriptions;
    return restored ? restored.call(this.store) : new Map();
  }

  /** Disconnects every client, then writes and closes the store. */
  async close(): Promise<void> {
    const aedes = this.aedes;
    if (!aedes.closed) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await this.store.destroy();
  }

  private admit(client: Client): void {
    const conn = client.conn as Duplex & { closed?: boolean };
    if (conn.closed) return;
    this.admitted++;
    conn.once('close', this.release);
  }

  private readonly release = (): void => {
    this.admitted--;
  };

  /** Before CONNECT is handled, so every subscription and replay of this client goes through its window. */
  private wrapPreConnect(aedes: Aedes): void {
    const preConnect = aedes.preConnect.bind(aedes);
    aedes.preConnect = (client, packet, callback) =>
      preConnect(client, packet, (error, ok) => {
        if (!error && ok) this.installDelivery(client);
        callback(error, ok);
      });
  }

  private installDelivery(client: Client): void {
    const window = new OutgoingWindow(
      client,
      {
        maxInflight: this.options.limits.maxInflightMessages,
        maxQueued: this.options.limits.maxQueuedMessages,
        maxQueuedBytes: this.options.limits.maxQueuedBytes,
      },
      {
        dropped: (clientId, limit) => this.options.onQueueFull?.(clientId, limit),
        drainTimedOut: (clientId) => this.options.onDrainTimeout?.(clientId),
      },
      this.flushes,
      this.sessionWrites,
    );
    this.windows.set(client, window);
    this.subscriptionRegistry.observe(client, window);
    const internals = client as unknown as { deliverQoS: OutgoingWindow['deliver']; deliver0: OutgoingWindow['deliver'] };
    internals.deliverQoS = window.deliver;
    internals.deliver0 = window.deliver;
    const reader = this.readers.get(client);
    if (reader) reader.flow = new MessageFlow(client, this.screenPublish, this.flushes, window);
  }

  /** A refused PUBLISH is marked to be acknowledged and dropped (see route). */
  private readonly screenPublish = (client: Client, packet: PacketLike): void => {
    if (this.options.policy.refusePublish(client, packet)) this.dropped.add(packet);
  };

  /**
   * Every publish goes through the MessageRouter. aedes disconnects a client whose publish is refused; MQTT 3.1.1 and
   * mosquitto instead acknowledge and drop it. So refused packets are let through authorisation, acknowledged by
   * aedes, and stopped here before routing.
   */
  private route(aedes: Aedes, router: MessageRouter): void {
    (aedes as unknown as { publish: unknown }).publish = (packet: PacketLike, client: Client | null | PublishDone, done?: PublishDone) => {
      if (typeof client === 'function') {
        // aedes' publish(packet, callback) calls back on a later tick, and its callers rely on it (a listener added
        // after the call hears what the callback does). The router completes at once when no subscriber waits.
        const callback = client;
        router.publish(packet, null, (error) => process.nextTick(callback, error));
        return;
      }
      if (client && this.dropped.has(packet)) {
        done?.();
        return;
      }
      router.publish(packet, client ?? null, done ?? noop);
    };
  }

  /** Bytes buffered for incomplete packets now, all connections together. */
  get incompleteBytes(): number {
    return this.pendingBudget.bytes;
  }

  private readonly refuseOversized = (client: Client, announced: number, first: boolean): void => {
    const bytes = first ? CONNECT_SIZE_LIMIT : maxPacketBytes(this.options.limits.messageSizeLimit);
    this.options.onOversizedPacket?.(client, announced, { first, bytes });
    client.conn.destroy();
  };

  private readonly refuseOverBudget = (client: Client, held: number): void => {
    this.options.onIncompleteBudgetSpent?.(client, held);
    client.conn.destroy();
  };

  private readonly refuseBacklog = (client: Client, queued: number): void => {
    this.options.onConnectBacklogFull?.(client, queued);
    client.conn.destroy();
  };
}

/**
 * The packet reader's hooks for one connection: its limits, and its message flow once the client is connecting
 * (before that every packet goes to aedes). One object per connection, methods on the prototype: every byte kept per
 * idle connection counts.
 */
class ConnectionReader implements ReaderHooks {
  flow: PacketTaker | undefined = undefined;
  readonly connectFirst = true;
  /** What the packets read behind the CONNECT, before its CONNACK, cost (see CONNECT_BACKLOG_BYTES). */
  private backlogBytes = 0;

  constructor(
    private readonly client: Client,
    readonly maxPayloadBytes: number,
    readonly maxPacketBytes: number,
    readonly firstPacketBytes: number,
    private readonly refuse: (client: Client, announced: number, first: boolean) => void,
    private readonly spent: (client: Client, held: number) => void,
    private readonly backlogFull: (client: Client, queued: number) => void,
  ) {}

  queued(frameBytes: number): QueueVerdict {
    // connackSent: aedes handles what it reads from now on (and has the queue in hand); nothing more to count.
    if (internalsOf(this.client).connackSent) return 'connected';
    this.backlogBytes += frameBytes + QUEUED_PACKET_OVERHEAD;
    if (this.backlogBytes <= CONNECT_BACKLOG_BYTES) return 'queue';
    this.backlogFull(this.client, this.backlogBytes);
    return 'over';
  }

  take(packet: WirePacket): boolean {
    return this.flow?.take(packet) ?? false;
  }

  chunkDone(): void {
    this.flow?.chunkDone();
  }

  oversized(announced: number, first: boolean): void {
    this.refuse(this.client, announced, first);
  }

  overBudget(held: number): void {
    this.spent(this.client, held);
  }
}

/**
 * The largest packet a client may send: a PUBLISH with the largest payload and the longest topic, or a CONNECT
 * whose will payload is that large with every string field at its longest. 0: no limit but the protocol's. A
 * WebSocket listener takes it as the largest message it assembles.
 */
export function maxPacketBytes(messageSizeLimit: number): number {
  return messageSizeLimit > 0 ? messageSizeLimit + CONNECT_OVERHEAD : 0;
}

/**
 * The bound on a connection's first packet (its CONNECT), checked as its fixed header arrives: until then the peer
 * is a stranger, on a listener that may require a password. A CONNECT carries an id, a username, a password and a
 * will: a few hundred bytes for real devices, a few KiB with a generous will. 64 KiB is far above that and still
 * small enough that thousands of half-sent CONNECTs stay within the budget of incomplete packets. A client whose
 * will payload is larger is refused (the log says which bound it broke).
 */
export const CONNECT_SIZE_LIMIT = 64 * 1024;

/**
 * The bound on what a connection may send behind its CONNECT before the CONNACK (pipelining: a device that reconnects
 * and flushes its queue at once). aedes holds those packets until the CONNECT is authenticated; over TCP the read loop
 * reads no more after the read that carried the CONNECT, so they are at most one read's worth, but one WebSocket
 * message is one read of any size up to the listener's message limit. Each packet counts its bytes on the wire plus
 * QUEUED_PACKET_OVERHEAD. 1 MiB holds thousands of a device's small messages, and past it the connection is closed.
 */
export const CONNECT_BACKLOG_BYTES = 1024 * 1024;
/** Roughly what aedes keeps per queued packet besides its bytes: the packet object and its queue slot. */
const QUEUED_PACKET_OVERHEAD = 128;
/** aedes' own count bound (`queueLimit`), set where CONNECT_BACKLOG_BYTES always binds first: at the smallest packets' count. */
const CONNECT_BACKLOG_PACKETS = Math.floor(CONNECT_BACKLOG_BYTES / (2 + QUEUED_PACKET_OVERHEAD)) + 1;

/** Everything of a CONNECT but the will payload: fixed fields and four 16-bit-length strings (id, will topic, user, password) and the will payload's length. */
const CONNECT_OVERHEAD = 10 + 4 * (2 + 65535) + 2;

/**
 * Answers a CONNECT the policy refused and closes the connection at once, rather than leaving it open, unanswered,
 * until the client gives up (each such connection holds a socket and its buffers). The CONNACK is written straight
 * to the socket before aedes destroys it, so it is on its way when the connection closes.
 */
function refuseConnection(client: Client): void {
  writeNow(client.conn, CONNACK_SERVER_UNAVAILABLE);
  (client as unknown as { close(): void }).close();
}

function toPacket(message: LocalMessage): PacketLike {
  const packet: PacketLike = {
    cmd: 'publish',
    topic: message.topic,
    payload: message.payload,
    qos: message.qos,
    retain: message.retain,
    dup: false,
  };
  if (message.origin !== undefined) packet.origin = message.origin;
  return packet;
}

function toRoutedMessage(packet: PacketLike): RoutedMessage {
  const payload = packet.payload as Buffer | string;
  return {
    topic: packet.topic,
    payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
    qos: packet.qos,
    retain: packet.retain,
    ...(packet.clientId !== undefined ? { clientId: packet.clientId } : {}),
    ...(packet.origin !== undefined ? { origin: packet.origin } : {}),
  };
}

function noop(): void {}
