import { Aedes, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Duplex } from 'node:stream';
import type { Logger } from '../util/logger.js';
import { AccessControl, type AccessPolicy, type PasswordVerifier } from './auth/access-control.js';
import { ConnectionRegistry, type ConnectionInfo } from './connection.js';
import { internalsOf, type PacketLike } from './engine/aedes-internals.js';
import { FlushScheduler } from './engine/delivery/flush-scheduler.js';
import { MessageFlow } from './engine/delivery/message-flow.js';
import { createMessageEmitter } from './engine/delivery/match-cache.js';
import { MessageRouter, type PublishDone, type RouterHost, type RoutingStore } from './engine/delivery/message-router.js';
import { OutgoingWindow } from './engine/delivery/outgoing-window.js';
import { SessionWrites, type SessionQueueStore } from './engine/delivery/session-writes.js';
import { SubscriptionRegistry } from './engine/delivery/subscription-registry.js';
import { DropLog } from './drop-log.js';
import { BrokerError } from './errors.js';
import { coalesceWrites } from './engine/wire/coalesce-writes.js';
import { createListener, type Listener } from './listeners/index.js';
import { disablePacketNumberCache } from './engine/packet-numbers.js';
import { isLoopbackHost, type BrokerOptions } from './options.js';
import {
  createPersistence,
  hideDollarTopicsFromWildcards,
  limitQueuedMessages,
  observeAcknowledgements,
  type AedesPersistence,
} from './engine/persistence/stores.js';
import { BrokerStats } from './stats.js';
import { SysTopicsPublisher } from './sys-topics.js';
import { PacketReader } from './engine/wire/packet-reader.js';
import { readFlowing } from './engine/wire/read-loop.js';

export interface BrokerDependencies {
  logger: Logger;
  loadPasswords: (file: string) => Promise<PasswordVerifier>;
  loadAcl: (file: string) => Promise<AccessPolicy>;
}

export interface InProcessMessage {
  topic: string;
  payload: Buffer | string;
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export type MessageHandler = (topic: string, payload: Buffer, packet: AedesPublishPacket) => void;

const IDENTIFIER_REJECTED = 2;

/**
 * The embedded MQTT broker: aedes with on-disk persistence, listeners from config, mosquitto-compatible
 * authentication and ACLs, limits and $SYS. The gateway talks to it in-process (publish/subscribe), without a
 * network round trip to itself.
 */
export class EmbeddedBroker {
  readonly stats = new BrokerStats();
  private aedes: Aedes | undefined;
  private persistence: AedesPersistence | undefined;
  private listeners: Listener[] = [];
  private sys: SysTopicsPublisher | undefined;
  private readonly connections = new ConnectionRegistry();
  private readonly access: AccessControl;
  private readonly log: Logger;
  /** PUBLISH packets refused by policy: acknowledged to the sender, never routed. */
  private readonly dropped = new WeakSet<object>();
  private readonly persistentWithoutId = new WeakSet<Client>();
  private readonly windows = new WeakMap<object, OutgoingWindow>();
  private readonly flushes = new FlushScheduler();
  /** Over the store once it is open (start). */
  private sessionWrites: SessionWrites | undefined;
  private readonly subscriptionRegistry = new SubscriptionRegistry();
  private readonly dropLog: DropLog;

  constructor(
    private readonly options: BrokerOptions,
    deps: BrokerDependencies,
  ) {
    this.log = deps.logger.child({ module: 'broker' });
    this.dropLog = new DropLog(this.log, options.limits.maxQueuedMessages);
    this.access = new AccessControl({
      passwordFile: options.passwordFile,
      aclFile: options.aclFile,
      loadPasswords: deps.loadPasswords,
      loadAcl: deps.loadAcl,
      connectionInfo: (client) => this.connections.infoFor(client.conn as Duplex),
      logger: deps.logger,
    });
  }

  async start(): Promise<void> {
    if (this.aedes) throw new BrokerError('broker already started');
    disablePacketNumberCache();
    await this.access.load();
    this.persistence = limitQueuedMessages(
      observeAcknowledgements(hideDollarTopicsFromWildcards(await createPersistence(this.options.persistenceDir, this.log)), (client, messageId) =>
        this.windows.get(client)?.acknowledged(messageId),
      ),
      this.options.limits.maxQueuedMessages,
      (clientId) => (this.aedes as unknown as { clients: Record<string, { connected: boolean } | undefined> } | undefined)?.clients[clientId]?.connected === true,
      (clientId) => this.queueFull(clientId),
    );
    this.sessionWrites = new SessionWrites(this.persistence as unknown as SessionQueueStore);
    const aedesSysPrefix = `$SYS/${this.options.id}/`;
    const { emitter, matcher } = createMessageEmitter();
    const aedes = await Aedes.createBroker({
      id: this.options.id,
      persistence: this.persistence,
      mq: emitter,
      drainTimeout: this.options.limits.drainTimeoutMs,
      keepaliveLimit: this.options.limits.maxKeepalive < 65535 ? this.options.limits.maxKeepalive : 0,
      maxClientsIdLength: 65535,
      preConnect: (client, packet, callback) => {
        const max = this.options.limits.maxConnections;
        if (max >= 0 && this.aedes!.connectedClients >= max) {
          this.log.warn({ max }, 'max_connections reached, connection refused');
          callback(null, false);
          return;
        }
        if (!packet.clientId && packet.clean === false) this.persistentWithoutId.add(client);
        const window = this.installWindow(client);
        PacketReader.install(internalsOf(client)._parser, new MessageFlow(client, this.screenPublish, this.flushes, window));
        callback(null, true);
      },
      authenticate: (client, username, password, done) => {
        if (this.persistentWithoutId.has(client)) {
          // MQTT-3.1.3-8: a persistent session needs an identifier to be found again.
          done(Object.assign(new Error('empty client id with clean session false'), { returnCode: IDENTIFIER_REJECTED }), false);
          return;
        }
        this.access.authenticate(client, username, password, done);
      },
      authorizePublish: (client, packet, callback) => this.authorizePublish(client, packet, callback),
      authorizeSubscribe: (client, subscription, callback) => this.authorizeSubscribe(client, subscription, callback),
      authorizeForward: (client, packet) => {
        // aedes' own announcements ($SYS/<id>/new/clients, .../new/subscribes...) carry client ids and filters:
        // for its internal listeners only. Clients get mosquitto's $SYS/broker/... instead.
        if (packet.topic.startsWith(aedesSysPrefix)) return null;
        if (!this.access.mayRead(client, packet)) return null;
        this.stats.publishSent++;
        return packet;
      },
    });
    this.aedes = aedes;
    this.route(
      aedes,
      new MessageRouter(aedes as unknown as RouterHost, this.persistence as unknown as RoutingStore, matcher, emitter, this.subscriptionRegistry, this.flushes, this.sessionWrites),
    );
    this.observe(aedes);
    await this.countRetained();
    await this.countRestoredSessions();

    try {
      for (const listenerOptions of this.options.listeners) {
        const listener = await createListener(listenerOptions, (stream, info) => this.accept(stream, info));
        await listener.start();
        this.listeners.push(listener);
        this.warnAboutAccess(listener);
        this.log.info({ listener: listener.name, anonymous: listenerOptions.allowAnonymous }, 'listening');
      }
    } catch (error) {
      await this.stop();
      throw error;
    }

    this.sys = new SysTopicsPublisher(
      {
        stats: this.stats,
        version: this.options.version,
        connectedClients: () => aedes.connectedClients,
        bytesReceived: () => this.connections.bytesReceived(),
        bytesSent: () => this.connections.bytesSent(),
        publish: (topic, payload) => this.publishInternal({ topic, payload, qos: 0, retain: true }),
      },
      this.options.sysIntervalSeconds,
      this.log,
    );
    this.sys.start();
  }

  /** Bound ports, in the order of the configured listeners. */
  listenerPorts(): number[] {
    return this.listeners.map((l) => l.port());
  }

  listenerNames(): string[] {
    return this.listeners.map((l) => l.name);
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  /** Publish from inside the process: no ACL, no socket. Resolves once routed (and stored, for QoS > 0). */
  publish(message: InProcessMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.requireAedes().publish(toPacket(message), (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Subscribe from inside the process; returns the unsubscribe function. */
  subscribe(filter: string, handler: MessageHandler): Promise<() => Promise<void>> {
    const aedes = this.requireAedes();
    const deliver = (packet: AedesPublishPacket, done: () => void) => {
      try {
        handler(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload), packet);
      } catch (error) {
        this.log.error({ err: error, topic: packet.topic }, 'in-process subscriber failed');
      }
      done();
    };
    return new Promise((resolve) => {
      aedes.subscribe(filter, deliver, () =>
        resolve(() => new Promise<void>((done) => (this.aedes ? this.aedes.unsubscribe(filter, deliver, () => done()) : done()))),
      );
    });
  }

  /** Retained messages whose topics match `filter` (read from the persistence, not from a subscription). */
  async retained(filter: string): Promise<{ topic: string; payload: Buffer }[]> {
    if (!this.persistence) throw new BrokerError('broker not started');
    const found: { topic: string; payload: Buffer }[] = [];
    for await (const packet of this.persistence.createRetainedStreamCombi([filter])) {
      const { topic, payload } = packet as { topic: string; payload: Buffer | string };
      found.push({ topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload) });
    }
    return found;
  }

  /** Re-read the password and ACL files (SIGHUP). Connected clients stay; a broken file keeps the old one. */
  reload(): Promise<Error[]> {
    return this.access.reload();
  }

  /** Close listeners and clients, then flush and close the persistence. */
  async stop(): Promise<void> {
    this.sys?.stop();
    await Promise.all(this.listeners.map((l) => l.close()));
    this.listeners = [];
    const aedes = this.aedes;
    if (aedes) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      this.aedes = undefined;
    }
    this.connections.destroyAll();
    await this.persistence?.destroy();
    this.persistence = undefined;
    this.log.info('broker stopped');
  }

  private accept(stream: Duplex, info: ConnectionInfo): void {
    if (!this.aedes || this.aedes.closed) {
      stream.destroy();
      return;
    }
    this.connections.register(stream, info);
    if (stream === info.socket) coalesceWrites(info.socket);
    readFlowing(this.aedes.handle(stream) as unknown as Client);
  }

  /** Before CONNECT is handled, so every subscription and replay of this client goes through its window. */
  private installWindow(client: Client): OutgoingWindow {
    const window = new OutgoingWindow(
      client,
      { maxInflight: this.options.limits.maxInflightMessages, maxQueued: this.options.limits.maxQueuedMessages },
      { dropped: (clientId) => this.queueFull(clientId) },
      this.flushes,
      this.sessionWrites!,
    );
    this.windows.set(client, window);
    this.subscriptionRegistry.observe(client, window);
    const internals = client as unknown as { deliverQoS: OutgoingWindow['deliver']; deliver0: OutgoingWindow['deliver'] };
    internals.deliverQoS = window.deliver;
    internals.deliver0 = window.deliver;
    return window;
  }

  private queueFull(clientId: string): void {
    this.stats.publishDropped++;
    this.dropLog.dropped(clientId);
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void {
    if (client) this.screenPublish(client, packet);
    callback(null);
  }

  /** A refused PUBLISH is marked to be acknowledged and dropped (see route), and logged. */
  private readonly screenPublish = (client: Client, packet: PublishPacket | PacketLike): void => {
    const reason = this.refusePublish(client, packet);
    if (!reason) return;
    this.dropped.add(packet);
    this.stats.publishDropped++;
    this.log.warn({ clientId: client.id, username: this.access.identityOf(client).username, topic: packet.topic, reason }, 'publish dropped');
  };

  private refusePublish(client: Client, packet: PublishPacket | PacketLike): string | undefined {
    if (packet.topic.startsWith('$SYS')) return '$SYS is written by the broker only';
    const limit = this.options.limits.messageSizeLimit;
    if (limit > 0 && packet.payload.length > limit) return `payload of ${packet.payload.length} bytes exceeds message_size_limit ${limit}`;
    if (!this.access.mayPublish(client, packet.topic)) return 'not allowed by ACL';
    return undefined;
  }

  private authorizeSubscribe(client: Client, subscription: Subscription, callback: (error: Error | null, subscription?: Subscription | null) => void): void {
    this.access.authorizeSubscribe(client, subscription, callback);
  }

  /**
   * Every publish goes through the MessageRouter. aedes disconnects a client whose publish is refused; MQTT 3.1.1 and
   * mosquitto instead acknowledge and drop it. So refused packets are let through authorisation, acknowledged by
   * aedes, and stopped here before routing.
   */
  private route(aedes: Aedes, router: MessageRouter): void {
    (aedes as unknown as { publish: unknown }).publish = (packet: PacketLike, client: Client | null | PublishDone, done?: PublishDone) => {
      if (typeof client === 'function') {
        router.publish(packet, null, client);
        return;
      }
      if (client && this.dropped.has(packet)) {
        done?.();
        return;
      }
      router.publish(packet, client ?? null, done ?? noop);
    };
  }

  private observe(aedes: Aedes): void {
    const stats = this.stats;
    aedes.on('client', (client) => {
      stats.connectionsTotal++;
      stats.clientsMaximum = Math.max(stats.clientsMaximum, aedes.connectedClients);
      if (client.clean) {
        stats.persistentClients.delete(client.id);
        stats.subscriptions.delete(client.id);
      } else {
        stats.persistentClients.add(client.id);
      }
    });
    aedes.on('clientDisconnect', (client) => {
      if (client.clean) stats.subscriptions.delete(client.id);
    });
    aedes.on('subscribe', (subscriptions, client) => {
      let filters = stats.subscriptions.get(client.id);
      if (!filters) stats.subscriptions.set(client.id, (filters = new Set()));
      for (const s of subscriptions) filters.add(s.topic);
    });
    aedes.on('unsubscribe', (filters, client) => {
      const current = stats.subscriptions.get(client.id);
      for (const f of filters) current?.delete(f);
    });
    aedes.on('publish', (packet, client) => {
      if (client) stats.publishReceived++;
      if (packet.retain) {
        if (packet.payload.length === 0) stats.retainedTopics.delete(packet.topic);
        else stats.retainedTopics.add(packet.topic);
      }
    });
    aedes.on('clientError', (client, error) => this.log.debug({ clientId: client.id, err: error.message }, 'client error'));
    aedes.on('connectionError', (_client, error) => this.log.debug({ err: error.message }, 'connection error'));
    (aedes as unknown as NodeJS.EventEmitter).on('error', (error: Error) => this.log.error({ err: error }, 'broker error'));
  }

  private async countRestoredSessions(): Promise<void> {
    const restored = (this.persistence as { restoredSubscriptions?: () => Promise<Map<string, string[]>> }).restoredSubscriptions;
    if (!restored) return;
    for (const [clientId, filters] of await restored.call(this.persistence)) {
      this.stats.persistentClients.add(clientId);
      this.stats.subscriptions.set(clientId, new Set(filters));
    }
  }

  private async countRetained(): Promise<void> {
    for await (const packet of this.persistence!.createRetainedStreamCombi(['#', '$SYS/#'])) {
      this.stats.retainedTopics.add((packet as { topic: string }).topic);
    }
  }

  private publishInternal(message: InProcessMessage): void {
    this.aedes?.publish(toPacket(message), (error) => {
      if (error) this.log.error({ err: error, topic: message.topic }, 'internal publish failed');
    });
  }

  private warnAboutAccess(listener: Listener): void {
    const { allowAnonymous, host, tls } = listener.options;
    if (allowAnonymous && !isLoopbackHost(host)) {
      this.log.warn({ listener: listener.name }, 'anonymous clients are allowed on a listener reachable from the network');
    }
    if (!allowAnonymous && !this.access.hasPasswordFile && !tls?.useIdentityAsUsername) {
      this.log.warn({ listener: listener.name }, 'listener requires authentication but no password_file is configured: nobody can connect');
    }
  }

  private requireAedes(): Aedes {
    if (!this.aedes) throw new BrokerError('broker not started');
    return this.aedes;
  }
}

function toPacket(message: InProcessMessage): PublishPacket {
  return {
    cmd: 'publish',
    topic: message.topic,
    payload: typeof message.payload === 'string' ? Buffer.from(message.payload) : message.payload,
    qos: message.qos ?? 0,
    retain: message.retain ?? false,
    dup: false,
  } as PublishPacket;
}

function noop(): void {}
