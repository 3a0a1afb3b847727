import { readFile } from 'node:fs/promises';
import path from 'node:path';

import type { BusSubscription, DeliveredMessage, LocalBus, QoS } from '../bus/local-bus.js';
import type { Logger } from '../util/logger.js';
import { Backoff } from './backoff.js';
import { CloudLink, type LinkSession, type LinkTls } from './cloud-link.js';
import type { BridgeSection } from './config.js';
import type { QueuedMessage, QueueEntry, QueueStats } from './queue/types.js';
import { ReopeningQueue } from './reopening-queue.js';
import { TopicMap } from './topic-mapping.js';

/** What the bridge needs of its store-and-forward queue (queue/disk-queue.ts). */
export interface BridgeQueue {
  append(message: QueuedMessage, onWritten?: (seq: number) => void): Promise<number>;
  next(max: number): Promise<QueueEntry[]>;
  claimNext(seq: number): boolean;
  claim(seq: number): boolean;
  readonly acknowledgedThrough: number;
  ack(seq: number): void;
  rewind(): void;
  stats(): BridgeQueueStats;
  close(): Promise<void>;
}

/** The queue's figures the bridge reads: those of QueueStats (queue/types.ts), the failure ones optional. */
export type BridgeQueueStats = Pick<QueueStats, 'depth' | 'bytes' | 'oldestAgeMs' | 'appended' | 'acknowledged' | 'dropped'> &
  Partial<Pick<QueueStats, 'writeFailure' | 'writeInProgressMs'>>;

export interface BridgeDependencies {
  /** The bus handle of this bridge: what it publishes locally carries its origin, `bridge:<connection>`. */
  bus: LocalBus;
  /** Opens this bridge's queue (in `<state_dir>/bridges/<connection>`). */
  openQueue: (section: BridgeSection) => Promise<BridgeQueue>;
  gatewayId: string;
  /** Seconds between the bridge's $SYS figures (the broker's sys_interval); 0: none. */
  sysIntervalSeconds: number;
  /** Relative TLS paths are taken from here. */
  baseDir: string;
  logger: Logger;
  random?: () => number;
  createClient?: ConstructorParameters<typeof CloudLink>[0]['createClient'];
  /** A queue write taking longer than this is a hung disk: the bridge is `failed` (default 10 s). */
  writeStallMs?: number;
}

const DEFAULT_WRITE_STALL_MS = 10_000;

/** Counters for $SYS, health and metrics. */
export interface BridgeCounters {
  sent: number;
  received: number;
  droppedQos0: number;
  failedAppends: number;
}

/** Retained topics remembered as sent ahead (drain: live_first); beyond, retained messages wait their turn. */
const MAX_SENT_AHEAD_TOPICS = 10_000;

/** What health and metrics read of one bridge: its link, its window and its queue, at the time of asking. */
export interface BridgeSnapshot {
  connection: string;
  connected: boolean;
  /** Successful connections since the bridge started; every one after the first is a reconnect. */
  connections: number;
  inflight: number;
  /** Undefined until the queue is open (and after stop). */
  queue: BridgeQueueStats | undefined;
  /** Why the queue takes no messages right now (a failed disk being retried, a write that hangs), in words. */
  queueProblem: string | undefined;
  /** Messages refused since the last one the queue took: set while messages are being lost. */
  losing: number | undefined;
  counters: Readonly<BridgeCounters>;
}

/** Prefix of the origin a bridge publishes with locally: a message with it is never sent out by any bridge. */
export const BRIDGE_ORIGIN_PREFIX = 'bridge:';

/**
 * One mosquitto-style bridge to a cloud broker. Out: every local message an `out` rule matches is appended to the
 * durable queue before its publisher is acknowledged (the bus handler returns the append), and sent from the queue in
 * order, a window at a time, removed only once the cloud acknowledged it. In: what the cloud sends on `in` rules is
 * published on the local bus, and acknowledged to the cloud only once the local broker took it.
 */
export class CloudBridge {
  readonly name: string;
  readonly counters: BridgeCounters = { sent: 0, received: 0, droppedQos0: 0, failedAppends: 0 };
  private readonly map: TopicMap;
  private readonly log: Logger;
  private readonly localState: string;
  private readonly remoteState: string;
  private queue: ReopeningQueue | undefined;
  /** Messages refused in a row (a full or failing queue), and since when: logged once per episode. */
  private losses: { count: number; since: number } | undefined;
  private link: CloudLink | undefined;
  private session: LinkSession | undefined;
  private subscriptions: BusSubscription[] = [];
  private inflight = 0;
  private pumping = false;
  private sysTimer: NodeJS.Timeout | undefined;
  /** Bumped at every connection: acknowledgements of an older one are ignored. */
  private generation = 0;
  /**
   * drain: live_first only. The newest seq sent ahead of the backlog, per topic, for retained messages: an older
   * retained message of that topic still in the backlog goes out without the retain flag, so the cloud keeps the
   * newest value as the retained one.
   */
  private readonly sentAhead = new Map<string, number>();

  constructor(
    private readonly section: BridgeSection,
    private readonly deps: BridgeDependencies,
  ) {
    this.name = `${BRIDGE_ORIGIN_PREFIX}${section.connection}`;
    this.map = new TopicMap(section.topics);
    this.log = deps.logger.child({ module: 'bridge', connection: section.connection });
    this.localState = section.notification_topic ?? `$SYS/broker/connection/${section.connection}/state`;
    this.remoteState = section.notification_topic ?? `$SYS/broker/connection/${this.clientId}/state`;
  }

  private get clientId(): string {
    return this.section.remote_clientid ?? this.deps.gatewayId;
  }

  async start(): Promise<void> {
    this.queue = await ReopeningQueue.open({
      open: () => this.deps.openQueue(this.section),
      logger: this.log,
      onReopened: () => void this.pump(),
    });
    await this.notifyLocally(false);
    for (const filter of this.map.localSubscriptions().keys()) this.subscriptions.push(await this.deps.bus.subscribe(filter, this.fromLocal));
    const section = this.section;
    this.link = new CloudLink(
      {
        addresses: section.addresses,
        protocolVersion: section.protocol_version === 'mqttv50' ? 5 : 4,
        clientId: this.clientId,
        username: section.remote_username,
        password: section.remote_password,
        clean: section.cleansession,
        keepaliveSeconds: section.keepalive_interval,
        tryPrivate: section.try_private,
        tls: await this.loadTls(),
        will: { topic: this.remoteState, payload: 'offline' },
        backoff: new Backoff(section.restart_timeout, this.deps.random),
        logger: this.log,
        createClient: this.deps.createClient,
      },
      { up: (session) => this.up(session), down: () => this.down() },
    );
    this.link.start();
    if (this.deps.sysIntervalSeconds > 0) {
      this.sysTimer = setInterval(() => void this.publishSys(), this.deps.sysIntervalSeconds * 1000);
      this.sysTimer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.sysTimer);
    await Promise.all(this.subscriptions.splice(0).map((s) => s.unsubscribe()));
    const link = this.link;
    this.link = undefined;
    this.session = undefined;
    await link?.stop((client) => client.publishAsync(this.remoteState, 'offline', { qos: 1, retain: true }).then(() => undefined));
    await this.notifyLocally(false).catch(() => undefined);
    await this.queue?.close();
    this.queue = undefined;
  }

  /**
   * `failed` while a queue write hangs (a dead SD card: only a restart helps, and the systemd watchdog gives it);
   * `degraded` while the cloud is unreachable, the queue is being reopened after a failed write, or messages are
   * being refused: the bridge goes on and catches up by itself.
   */
  health(): { status: 'ok' | 'degraded' | 'failed'; detail: Record<string, unknown> } {
    const { connected, connections, inflight, queue, queueProblem, losing, counters } = this.snapshot();
    const stalled = (queue?.writeInProgressMs ?? 0) > (this.deps.writeStallMs ?? DEFAULT_WRITE_STALL_MS);
    return {
      status: stalled ? 'failed' : connected && queueProblem === undefined && losing === undefined ? 'ok' : 'degraded',
      detail: { connected, connections, inflight, queue, ...(queueProblem ? { queueProblem } : {}), ...(losing ? { losing } : {}), ...counters },
    };
  }

  snapshot(): BridgeSnapshot {
    const queue = this.queue?.stats();
    return {
      connection: this.section.connection,
      connected: this.link?.connected ?? false,
      connections: this.link?.connections ?? 0,
      inflight: this.inflight,
      queue,
      queueProblem: this.queueProblem(queue),
      losing: this.losses?.count,
      counters: { ...this.counters },
    };
  }

  private queueProblem(queue: BridgeQueueStats | undefined): string | undefined {
    const outage = this.queue?.outage;
    if (outage) return `queue cannot write since ${new Date(outage.since).toISOString()}: ${outage.reason}`;
    const stallMs = queue?.writeInProgressMs ?? 0;
    if (stallMs > (this.deps.writeStallMs ?? DEFAULT_WRITE_STALL_MS)) return `queue write hanging for ${Math.round(stallMs / 1000)} s`;
    return undefined;
  }

  /** A local message on an out filter: mapped, and queued (QoS ≥ 1) before its publisher is acknowledged. */
  private readonly fromLocal = (message: DeliveredMessage): Promise<void> | void => {
    if (message.publisher.kind === 'local' && message.publisher.origin.startsWith(BRIDGE_ORIGIN_PREFIX)) return;
    const mapped = this.map.outbound(message.topic);
    if (!mapped) return;
    const qos = Math.min(mapped.qos, message.qos) as QoS;
    if (qos === 0 && !this.section.queue.qos0) {
      this.sendQos0(mapped.topic, message);
      return;
    }
    const queue = this.queue;
    if (!queue) return;
    const queued: QueuedMessage = { topic: mapped.topic, payload: message.payload, qos, retain: message.retain, enqueuedAt: Date.now() };
    // Sent on as soon as it is written; the local PUBACK still waits for the append (the sync, by default).
    return queue.append(queued, (seq) => this.sendFresh(seq, queued)).then(
      () => this.lossesEnded(),
      (error: unknown) => this.lost(error, message.topic),
    );
  };

  /**
   * Refused by a full queue (on_full: refuse) or a failing disk: the publisher is acknowledged all the same, so this
   * is a loss. Counted, shown in health while it lasts, and logged at its start and its end, not once per message.
   */
  private lost(error: unknown, topic: string): void {
    this.counters.failedAppends++;
    if (this.losses) {
      this.losses.count++;
      return;
    }
    this.losses = { count: 1, since: Date.now() };
    this.log.error({ err: error instanceof Error ? error.message : error, topic }, 'bridge queue refuses messages: they will not reach the cloud');
  }

  private lossesEnded(): void {
    const losses = this.losses;
    if (!losses) return;
    this.losses = undefined;
    this.log.warn({ lost: losses.count, forMs: Date.now() - losses.since }, 'bridge queue takes messages again');
  }

  private sendQos0(topic: string, message: DeliveredMessage): void {
    const session = this.session;
    if (!session) {
      this.counters.droppedQos0++;
      return;
    }
    session.client.publish(topic, message.payload, { qos: 0, retain: message.retain });
    this.counters.sent++;
  }

  private async up(session: LinkSession): Promise<void> {
    this.generation++;
    this.session = session;
    this.inflight = 0;
    this.queue?.rewind();
    session.client.handleMessage = (packet, done) => this.fromCloud(packet.topic, packet.payload as Buffer, packet.qos, packet.retain).then(() => done(), (error: Error) => done(error));
    const remote = this.map.remoteSubscriptions();
    if (remote.size > 0) {
      const subscriptions = Object.fromEntries([...remote].map(([filter, qos]) => [filter, { qos, nl: true, rap: true }]));
      await session.client.subscribeAsync(subscriptions);
    }
    if (this.section.notifications) await session.client.publishAsync(this.remoteState, 'online', { qos: 1, retain: true });
    await this.notifyLocally(true);
    void this.pump();
  }

  private down(): void {
    this.generation++;
    this.session = undefined;
    this.inflight = 0;
    void this.notifyLocally(false).catch(() => undefined);
  }

  /** A cloud message on an in filter, to the local broker; the cloud's PUBACK waits for it. */
  private async fromCloud(topic: string, payload: Buffer, qos: QoS, retain: boolean): Promise<void> {
    const mapped = this.map.inbound(topic);
    if (!mapped) return;
    this.counters.received++;
    await this.deps.bus.publish({ topic: mapped.topic, payload, qos: Math.min(qos, mapped.qos) as QoS, retain });
  }

  /**
   * A message just made durable: when the sender is caught up it goes straight out, without being read back from
   * disk; with `drain: live_first` it also goes out ahead of a backlog that is still draining. Otherwise it waits its
   * turn in the queue.
   */
  private sendFresh(seq: number, message: QueuedMessage): void {
    const session = this.session;
    const queue = this.queue;
    if (session && queue && this.inflight < session.receiveMaximum) {
      if (queue.claimNext(seq)) return this.send(session, { ...message, seq });
      if (this.section.queue.drain === 'live_first' && (!message.retain || this.sentAhead.size < MAX_SENT_AHEAD_TOPICS) && queue.claim(seq)) {
        if (message.retain) this.sentAhead.set(message.topic, seq);
        return this.send(session, { ...message, seq });
      }
    }
    void this.pump();
  }

  /**
   * Sends from the queue while the window has room; one loop at a time. With `drain: live_first` a quarter of the
   * window is left to fresh messages, so a backlog cannot take every slot from them.
   */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const session = this.session;
        const queue = this.queue;
        if (!session || !queue) return;
        const reserved = this.section.queue.drain === 'live_first' ? Math.floor(session.receiveMaximum / 4) : 0;
        const room = session.receiveMaximum - reserved - this.inflight;
        if (room <= 0) return;
        const entries = await queue.next(room);
        if (session !== this.session) return;
        if (entries.length === 0) {
          this.forgetSentAhead(queue.acknowledgedThrough);
          return;
        }
        for (const entry of entries) this.send(session, entry);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Topics sent ahead whose seq the floor has passed: nothing older of theirs can be sent again. */
  private forgetSentAhead(floor: number): void {
    for (const [topic, seq] of this.sentAhead) if (seq <= floor) this.sentAhead.delete(topic);
  }

  private send(session: LinkSession, entry: QueueEntry): void {
    const generation = this.generation;
    this.inflight++;
    // A retained message older than one already sent ahead of it must not replace it on the cloud.
    const newer = entry.retain ? this.sentAhead.get(entry.topic) : undefined;
    const retain = entry.retain && !(newer !== undefined && newer > entry.seq);
    session.client.publish(entry.topic, entry.payload, { qos: entry.qos, retain }, (error) => {
      if (generation !== this.generation) return;
      this.inflight--;
      if (error) return; // the connection is going down: the queue sends it again after the reconnect
      this.queue?.ack(entry.seq);
      this.counters.sent++;
      void this.pump();
    });
  }

  /** The bridge's figures, retained under its notification topic's parent, like mosquitto's $SYS tree. */
  private async publishSys(): Promise<void> {
    const queue = this.queue?.stats();
    if (!queue) return;
    const base = `$SYS/broker/connection/${this.section.connection}`;
    const figures: Record<string, number> = {
      'queue/depth': queue.depth,
      'queue/bytes': queue.bytes,
      'queue/oldest_age_seconds': Math.floor((queue.oldestAgeMs ?? 0) / 1000),
      'messages/sent': this.counters.sent,
      'messages/received': this.counters.received,
      'messages/dropped': queue.dropped + this.counters.failedAppends + this.counters.droppedQos0,
      reconnects: Math.max(0, (this.link?.connections ?? 0) - 1),
    };
    for (const [name, value] of Object.entries(figures)) {
      await this.deps.bus.publish({ topic: `${base}/${name}`, payload: String(value), qos: 0, retain: true }).catch(() => undefined);
    }
  }

  private async notifyLocally(connected: boolean): Promise<void> {
    if (!this.section.notifications) return;
    await this.deps.bus.publish({ topic: this.localState, payload: connected ? '1' : '0', qos: 1, retain: true });
  }

  private async loadTls(): Promise<LinkTls | undefined> {
    const tls = this.section.tls;
    if (!tls) return undefined;
    const read = (file: string | undefined) => (file === undefined ? undefined : readFile(path.resolve(this.deps.baseDir, file)));
    const [ca, cert, key] = await Promise.all([read(tls.cafile), read(tls.certfile), read(tls.keyfile)]);
    return { ca, cert, key, servername: tls.server_name, rejectUnauthorized: !tls.insecure };
  }
}

