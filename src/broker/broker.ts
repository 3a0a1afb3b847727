import type { Duplex } from 'node:stream';
import type { Logger } from '../util/logger.js';
import { AccessControl, type AccessPolicy, type PasswordVerifier } from './auth/access-control.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { ConnectionRegistry, type ConnectionInfo } from './connection.js';
import { DropLog } from './drop-log.js';
import { LimitLog } from './limit-log.js';
import { MemoryReclaimer } from './memory-reclaim.js';
import { CONNECT_BACKLOG_BYTES, DeliveryEngine, maxPacketBytes, ProtocolViolation, type EngineClient, type EngineMessage, type LocalHandler, type LocalMessage, type RoutedMessage } from './engine/engine.js';
import { BrokerError } from './errors.js';
import { createListener } from './listeners/create-listener.js';
import { listenerName, type Listener } from './listeners/listener.js';
import { BrokerBus } from './local-bus.js';
import { isLoopbackHost, type BrokerOptions } from './options.js';
import { BrokerStats } from './stats.js';
import { SysTopicsPublisher } from './sys-topics.js';

/** One configured listener, and whether it is accepting connections now. */
export interface ListenerState {
  name: string;
  listening: boolean;
}

/** The broker's running totals since it started, for metrics. */
export interface BrokerTraffic {
  messagesReceived: number;
  messagesSent: number;
  messagesDropped: number;
  bytesReceived: number;
  bytesSent: number;
  connectionsTotal: number;
  subscriptions: number;
  retainedMessages: number;
}

export interface BrokerDependencies {
  logger: Logger;
  loadPasswords: (file: string) => Promise<PasswordVerifier>;
  loadAcl: (file: string) => Promise<AccessPolicy>;
}

/**
 * The embedded MQTT broker: the delivery engine (aedes, patched; see engine/engine.ts) with listeners from config,
 * mosquitto-compatible authentication and ACLs, limits and $SYS. In-process publishers and subscribers (the local
 * bus) reach it without a socket.
 */
export class EmbeddedBroker {
  readonly name = 'broker';
  readonly stats = new BrokerStats();
  private engine: DeliveryEngine | undefined;
  private listeners: Listener[] = [];
  private sys: SysTopicsPublisher | undefined;
  private readonly connections = new ConnectionRegistry();
  private readonly access: AccessControl;
  private readonly log: Logger;
  private readonly dropLog: DropLog;
  private readonly reclaimer: MemoryReclaimer;
  private readonly limitLogs: { connections: LimitLog; oversized: LimitLog; incomplete: LimitLog; backlog: LimitLog };

  constructor(
    private readonly options: BrokerOptions,
    deps: BrokerDependencies,
  ) {
    this.log = deps.logger.child({ module: 'broker' });
    this.dropLog = new DropLog(this.log, { messages: options.limits.maxQueuedMessages, bytes: options.limits.maxQueuedBytes });
    this.reclaimer = new MemoryReclaimer({ intervalMs: 5_000, growthBytes: 16 * 1024 * 1024 }, deps.logger);
    this.limitLogs = {
      connections: new LimitLog(this.log, 'max_connections reached: connections refused with CONNACK 3 (server unavailable) and closed'),
      oversized: new LimitLog(this.log, 'packet larger than its limit announced: connection closed before reading it'),
      incomplete: new LimitLog(
        this.log,
        'max_incomplete_bytes reached: the connection holding the largest incomplete packet closed',
      ),
      backlog: new LimitLog(this.log, 'too many bytes of packets sent before its CONNECT was answered: connection closed'),
    };
    this.access = new AccessControl({
      passwordFile: options.passwordFile,
      aclFile: options.aclFile,
      loadPasswords: deps.loadPasswords,
      loadAcl: deps.loadAcl,
      connectionInfo: (client) => this.connections.infoFor(client.conn),
      logger: deps.logger,
      throttle: new LoginThrottle(options.loginThrottle),
      counters: {
        failed: () => this.stats.authFailures++,
        delayed: () => this.stats.authDelayed++,
        shed: () => this.stats.authShed++,
      },
    });
  }

  async start(): Promise<void> {
    if (this.engine) throw new BrokerError('broker already started');
    await this.access.load();
    const limits = this.options.limits;
    const engine = await DeliveryEngine.open({
      id: this.options.id,
      persistenceDir: this.options.persistenceDir,
      limits,
      logger: this.log,
      policy: {
        admit: (client) => {
          const max = limits.maxConnections;
          if (max < 0 || this.engine!.admittedConnections < max) return true;
          this.stats.connectionsRefused++;
          this.reclaimer.nudge();
          const info = this.connections.infoFor(client.conn);
          this.limitLogs.connections.hit(info?.listenerName ?? '', { max, listener: info?.listenerName, remote: info?.socket.remoteAddress });
          return false;
        },
        authenticate: this.access.authenticate,
        refusePublish: this.refusePublish,
        authorizeSubscribe: this.access.authorizeSubscribe,
        mayForward: (client, message) => {
          if (!this.access.mayRead(client, message)) return false;
          this.stats.publishSent++;
          return true;
        },
      },
      onQueueFull: (clientId, limit) => this.queueFull(clientId, limit),
      onStorageWriteFailed: () => {
        this.stats.storageWriteFailures++;
      },
      onStorageRecovered: () => {
        this.stats.storageRecoveries++;
      },
      onDrainTimeout: (clientId) => {
        this.stats.slowSubscriberDisconnects++;
        this.reclaimer.nudge();
        this.log.warn({ clientId, drainTimeoutMs: limits.drainTimeoutMs }, 'subscriber disconnected: its socket stayed full for drain_timeout');
      },
      onInboundQos2Limit: (client, reason) => {
        this.stats.inboundQos2Cutoffs++;
        this.reclaimer.nudge();
        this.log.warn({ clientId: client.id, reason }, 'client disconnected: too many inbound QoS 2 messages awaiting PUBREL');
      },
      onOversizedPacket: (client, announced, limit) => {
        this.stats.oversizedPackets++;
        this.reclaimer.nudge();
        const who = this.whoIs(client);
        this.limitLogs.oversized.hit(who.remote ?? '', {
          ...who,
          announced,
          limit: limit.bytes,
          bound: limit.first ? 'first packet (CONNECT)' : 'message_size_limit',
        });
      },
      onIncompleteBudgetSpent: (client, held) => {
        this.stats.incompleteBudgetCloses++;
        this.reclaimer.nudge();
        this.limitLogs.incomplete.hit('', {
          ...this.whoIs(client),
          held,
          limit: limits.maxIncompleteBytes,
        });
      },
      onConnectBacklogFull: (client, queued) => {
        this.stats.connectBacklogCloses++;
        this.reclaimer.nudge();
        const who = this.whoIs(client);
        this.limitLogs.backlog.hit(who.remote ?? '', {
          ...who,
          queued,
          limit: CONNECT_BACKLOG_BYTES,
        });
      },
    });
    this.engine = engine;
    this.observe(engine);
    await this.countRetained();
    await this.countRestoredSessions();

    try {
      for (const listenerOptions of this.options.listeners) {
        const listener = await createListener(listenerOptions, (stream, info) => this.accept(stream, info), {
          // A whole packet in one message: its remaining length and up to 5 bytes of fixed header.
          maxMessageBytes: limits.messageSizeLimit > 0 ? maxPacketBytes(limits.messageSizeLimit) + 5 : 0,
        });
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
        connectedClients: () => engine.connectedClients,
        bytesReceived: () => this.connections.bytesReceived(),
        bytesSent: () => this.connections.bytesSent(),
        publish: (topic, payload) => this.publishInternal({ topic, payload: Buffer.from(payload), qos: 0, retain: true }),
      },
      this.options.sysIntervalSeconds,
      this.log,
    );
    this.sys.start();
    this.reclaimer.start();
  }

  /** Bound ports, in the order of the configured listeners. */
  listenerPorts(): number[] {
    return this.listeners.map((l) => l.port());
  }

  listenerNames(): string[] {
    return this.listeners.map((l) => l.name);
  }

  /** Every configured listener in config order, named by its bound port once it listens. */
  listenerStates(): ListenerState[] {
    const listening = this.engine !== undefined && !this.engine.closed;
    return this.options.listeners.map((options, i) => {
      const listener = this.listeners[i];
      return { name: listener?.name ?? listenerName(options), listening: listening && listener !== undefined };
    });
  }

  traffic(): BrokerTraffic {
    const { stats } = this;
    return {
      messagesReceived: stats.publishReceived,
      messagesSent: stats.publishSent,
      messagesDropped: stats.publishDropped,
      bytesReceived: this.connections.bytesReceived(),
      bytesSent: this.connections.bytesSent(),
      connectionsTotal: stats.connectionsTotal,
      subscriptions: stats.subscriptionCount(),
      retainedMessages: stats.retainedTopics.size,
    };
  }

  get connectedClients(): number {
    return this.engine?.connectedClients ?? 0;
  }

  /**
   * Serving while started and listening on every configured listener; degraded while the on-disk store cannot write
   * (a full disk: what is acknowledged meanwhile is only in memory until a retry succeeds).
   */
  health(): { status: 'ok' | 'degraded' | 'failed'; detail: Record<string, unknown> } {
    const engine = this.engine;
    const serving = engine !== undefined && !engine.closed && this.listeners.length === this.options.listeners.length;
    const detail: Record<string, unknown> = { listeners: this.listenerNames(), clients: this.connectedClients };
    if (!serving || !engine) return { status: 'failed', detail };
    const storage = engine.storageStatus();
    if (storage.state !== 'failing') return { status: 'ok', detail };
    detail.storage = { ...storage, reason: `persistence cannot write to ${storage.location}: ${storage.error}` };
    return { status: 'degraded', detail };
  }

  /** Checks a login against the broker's password_file (the live page's login); false without one. */
  verifyPassword(username: string, password: string): Promise<boolean> {
    return this.access.verifyPassword(username, password);
  }

  /** Whether the broker's acl_file lets `username` publish on `topic`, as if it were a client of that user. */
  allowsPublish(username: string | undefined, clientId: string, topic: string): boolean {
    return this.access.allowsPublish({ clientId, ...(username === undefined ? {} : { username }) }, topic);
  }

  /** A handle on the broker for one in-process participant; what it publishes is marked with `origin`. */
  bus(origin: string): BrokerBus {
    return new BrokerBus(this, origin);
  }

  /** Publish from inside the process: no ACL, no socket. Resolves once routed (and queued, for persistent sessions). */
  publish(message: LocalMessage): Promise<void> {
    return this.requireEngine().publish(message);
  }

  /** Subscribe from inside the process; returns the unsubscribe function. */
  subscribe(filter: string, handler: LocalHandler): Promise<() => Promise<void>> {
    return this.requireEngine().subscribe(filter, handler, (error, message) =>
      this.log.error({ err: error, topic: message.topic }, 'in-process subscriber failed'),
    );
  }

  /** Retained messages whose topics match `filter` (read from the store, not from a subscription). */
  retained(filter: string): Promise<RoutedMessage[]> {
    return this.requireEngine().retained([filter]);
  }

  /** Re-read the password and ACL files (SIGHUP). Connected clients stay; a broken file keeps the old one. */
  reload(): Promise<Error[]> {
    return this.access.reload();
  }

  /** Close listeners and clients, then flush and close the store. */
  async stop(): Promise<void> {
    this.sys?.stop();
    this.reclaimer.stop();
    await Promise.all(this.listeners.map((l) => l.close()));
    this.listeners = [];
    const engine = this.engine;
    this.engine = undefined;
    try {
      await engine?.close();
    } finally {
      this.connections.destroyAll();
    }
    this.log.info('broker stopped');
  }

  private accept(stream: Duplex, info: ConnectionInfo): void {
    if (!this.engine || this.engine.closed) {
      stream.destroy();
      return;
    }
    this.connections.register(stream, info);
    this.engine.handle(stream, info.socket);
  }

  /** The connection a limit-log line is about: its client id (once known), listener and remote address. */
  private whoIs(client: EngineClient): { clientId: string | undefined; listener: string | undefined; remote: string | undefined } {
    const info = this.connections.infoFor(client.conn);
    return { clientId: client.id || undefined, listener: info?.listenerName, remote: info?.socket.remoteAddress };
  }

  private queueFull(clientId: string, limit: 'messages' | 'bytes'): void {
    this.stats.publishDropped++;
    this.reclaimer.nudge();
    if (limit === 'bytes') this.stats.queueDroppedBytes++;
    else this.stats.queueDroppedMessages++;
    this.dropLog.dropped(clientId, limit);
  }

  /** Why a client's PUBLISH is dropped (acknowledged, never routed), logged and counted; undefined to route it. */
  private readonly refusePublish = (client: EngineClient, message: EngineMessage): string | undefined => {
    const reason = this.publishProblem(client, message);
    if (!reason) return undefined;
    this.stats.publishDropped++;
    this.log.warn({ clientId: client.id, username: this.access.identityOf(client).username, topic: message.topic, reason }, 'publish dropped');
    return reason;
  };

  private publishProblem(client: EngineClient, message: EngineMessage): string | undefined {
    if (message.topic.startsWith('$SYS')) return '$SYS is written by the broker only';
    const limit = this.options.limits.messageSizeLimit;
    if (limit > 0 && message.payload.length > limit) return `payload of ${message.payload.length} bytes exceeds message_size_limit ${limit}`;
    if (!this.access.mayPublish(client, message.topic)) return 'not allowed by ACL';
    return undefined;
  }

  private observe(engine: DeliveryEngine): void {
    const stats = this.stats;
    engine.on('client', (client) => {
      stats.connectionsTotal++;
      stats.clientsMaximum = Math.max(stats.clientsMaximum, engine.connectedClients);
      if (client.clean) {
        stats.persistentClients.delete(client.id);
        stats.subscriptions.delete(client.id);
      } else {
        stats.persistentClients.add(client.id);
      }
    });
    engine.on('clientDisconnect', (client) => {
      if (client.clean) stats.subscriptions.delete(client.id);
    });
    engine.on('subscribe', (subscriptions, client) => {
      let filters = stats.subscriptions.get(client.id);
      if (!filters) stats.subscriptions.set(client.id, (filters = new Set()));
      for (const s of subscriptions) filters.add(s.topic);
    });
    engine.on('unsubscribe', (filters, client) => {
      const current = stats.subscriptions.get(client.id);
      for (const f of filters) current?.delete(f);
    });
    engine.on('publish', (message, client) => {
      if (client) stats.publishReceived++;
      if (message.retain) {
        if (message.payload.length === 0) stats.retainedTopics.delete(message.topic);
        else stats.retainedTopics.add(message.topic);
      }
    });
    engine.on('clientError', (client, error) => this.clientError(client, error));
    engine.on('connectionError', (client, error) => this.clientError(client, error));
  }

  /** A connection closed on an error; a protocol violation (a hostile or broken client) is counted and told. */
  private clientError(client: EngineClient, error: Error): void {
    if (!(error instanceof ProtocolViolation)) {
      this.log.debug({ clientId: client.id || undefined, err: error.message }, 'client error');
      return;
    }
    this.stats.protocolViolations++;
    const info = this.connections.infoFor(client.conn);
    this.log.warn({ clientId: client.id || undefined, listener: info?.listenerName, remote: info?.socket.remoteAddress, reason: error.message }, 'protocol violation: connection closed');
  }

  private async countRestoredSessions(): Promise<void> {
    for (const [clientId, filters] of await this.engine!.persistentSessions()) {
      this.stats.persistentClients.add(clientId);
      this.stats.subscriptions.set(clientId, new Set(filters));
    }
  }

  private async countRetained(): Promise<void> {
    for (const message of await this.engine!.retained(['#', '$SYS/#'])) this.stats.retainedTopics.add(message.topic);
  }

  private publishInternal(message: LocalMessage): void {
    this.engine?.publish(message).catch((error: unknown) => this.log.error({ err: error, topic: message.topic }, 'internal publish failed'));
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

  private requireEngine(): DeliveryEngine {
    if (!this.engine) throw new BrokerError('broker not started');
    return this.engine;
  }
}
