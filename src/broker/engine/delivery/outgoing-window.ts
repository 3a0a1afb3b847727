import type { Client } from 'aedes';
import { internalsOf, type AedesClientInternals, type PacketLike } from '../aedes-internals.js';
import { topicMatches } from '../../../mqtt/topic-match.js';
import { writeNow } from '../wire/coalesce-writes.js';
import { callQueued, Fifo } from '../fifo.js';
import { SmallMap } from '../small-map.js';
import { encodePublishes } from '../wire/publish-encoder.js';
import type { Flushable, FlushScheduler } from './flush-scheduler.js';
import type { SessionOwner, SessionWrites } from './session-writes.js';
import type { LiveDeliverer, RoutedSubscription, SubscriptionRecord } from './subscription-registry.js';

const REPLAY_BATCH = 512;
const DOLLAR = 0x24;

export interface WindowLimits {
  /** QoS 1/2 messages sent to a client and not yet acknowledged (mosquitto's max_inflight_messages); 0: no limit. */
  maxInflight: number;
  /** Messages waiting behind a full window or a full socket (mosquitto's max_queued_messages); 0: no limit. */
  maxQueued: number;
  /** Payload bytes of those waiting messages (mosquitto's max_queued_bytes); 0: no limit. */
  maxQueuedBytes: number;
}

/** Which bound a dropped message hit. */
export type QueueLimit = 'messages' | 'bytes';

export interface WindowEvents {
  /** A message for `clientId` dropped because its queue was full. */
  dropped(clientId: string, limit: QueueLimit): void;
  /** The client's socket stayed full for the drain timeout: aedes has disconnected it. */
  drainTimedOut?(clientId: string): void;
}

/**
 * Delivery of QoS 1/2 messages to one connected client, in place of aedes' `deliverQoS`:
 *
 * - an in-flight window: at most `maxInflight` messages sent and not yet acknowledged (PUBACK, or PUBCOMP for
 *   QoS 2); the rest wait in order, and beyond `maxQueued` of them new ones are dropped, like mosquitto;
 * - batching: the first message after a flush is written as soon as it is routed (and its sender released if the
 *   socket took it); what follows before the next flush (the end of the read that routed it, see FlushScheduler) is
 *   encoded into one Buffer and written then.
 *   aedes spent two setImmediate, a packet copy, a bound function and five socket chunks on every message;
 * - backpressure that costs only this client: a sender (aedes, which acknowledges a QoS 1 PUBLISH only when its
 *   deliveries are done) waits until its message is written, which is the next flush at the latest. A message that
 *   waits for the window, or for a socket whose buffer is full, is accepted into the queue at once instead, and
 *   beyond `maxQueued` messages or `maxQueuedBytes` new ones are dropped (mosquitto's semantics, QoS 0 included):
 *   a subscriber that does not read, or is slow to acknowledge, never holds up its publishers or the other
 *   subscribers. aedes' drain timeout still disconnects a client whose socket stays full that long.
 *
 * A persistent session's messages are in the store before they reach the window (aedes enqueues them first), so a
 * message waiting here is not lost when the connection drops: aedes resends the store on the next connect.
 * QoS 0 messages take the same queue (in order, batched, counted by `maxQueued`) but no slot in the window.
 */
export class OutgoingWindow implements Flushable, LiveDeliverer {
  private readonly waiting = new Fifo<PacketLike>();
  /** Packet identifiers sent and not yet acknowledged. */
  private readonly inflight = new SmallMap<number, true>();
  /** Payload bytes of `waiting`. */
  private waitingBytes = 0;
  /** Senders of the messages the next flush writes. */
  private readonly unwritten = new Fifo<() => void>();
  /** The socket's buffer is full: nothing more is written until it drains. */
  private stalled = false;
  queuedForFlush = false;
  /** Wrote at once since the last flush: what comes next waits for the flush, in one write. */
  private wroteSinceFlush = false;
  /**
   * Until aedes has read the session's queue to resend it (CONNECT's last step): a QoS 1/2 message queued for this
   * persistent session meanwhile is in that read, and goes out with it, once and in order (see deliver).
   */
  private resendPending = true;
  private readonly client: AedesClientInternals;

  constructor(
    client: Client,
    private readonly limits: WindowLimits,
    private readonly events: WindowEvents,
    private readonly scheduler: FlushScheduler,
    private readonly sessions: SessionWrites,
  ) {
    this.client = internalsOf(client);
  }

  /** aedes' `deliverQoS(packet, done)` and `deliver0`: called for every message routed to this client. */
  readonly deliver = (original: PacketLike, done: () => void): void => {
    const client = this.client;
    const packet = this.forwardable(original);
    if (!packet) {
      // Not for this client after all (ACL, no-local, overlap already delivered): take it out of the session's store.
      this.forget(original);
      this.accepted(done);
      return;
    }
    // A persistent session's restored subscriptions are live before aedes reads the queue to resend it: a message
    // routed in between is in that queue and would go out twice, the live copy first, under two identifiers (and
    // the session would keep the second while the client acknowledges the first). The resend sends it.
    if (this.resendPending && packet.qos > 0 && original.brokerId && !client.clean) {
      this.accepted(done);
      return;
    }
    const full = this.queueFull(packet.payload.length);
    if (full) {
      this.forget(original);
      this.events.dropped(client.id, full);
      this.accepted(done);
      return;
    }
    // Subscribed at QoS 0 only (a retained message replayed at its own QoS): no session state to keep.
    if (packet.qos === 0) this.forget(original);
    this.waiting.push(packet);
    this.waitingBytes += packet.payload.length;
    // A live message's sender (aedes, and through it the publisher's read loop) waits until the message is written,
    // as with aedes' own delivery, unless the message has to wait for the window: then it is accepted into the
    // queue at once. Retained messages replayed on SUBSCRIBE (no broker id) are accepted at once, so a replay goes
    // out in batches rather than one message per loop turn, up to REPLAY_BATCH waiting messages.
    if (this.stalled) {
      // Written once the socket drains, or dropped with the connection: its sender does not wait for either.
      this.accepted(done);
      return;
    }
    if (!original.brokerId && this.waiting.size < REPLAY_BATCH) this.accepted(done);
    else if (this.fitsWindow()) this.unwritten.push(done);
    else this.accepted(done);
    // The first message after a flush is written at once: in a fan-out, each subscriber's write starts as soon as
    // the message is routed to it, not after the message has been routed to all of them. Further ones before the
    // flush (the rest of a burst read at once) wait for it and go out together.
    if (!this.wroteSinceFlush && client.connected && !client.closed) {
      this.wroteSinceFlush = true;
      // Taken by the socket: a live message's sender goes on now rather than at the flush. At 2,000 msg/s of fan-in
      // the wait for the flush (a setImmediate, then a nextTick to resume reading) was a third of the p99.
      if (this.write() && original.brokerId) callQueued(this.unwritten);
    }
    // After the write: outside a read, the first markDirty schedules the flush (a setImmediate, 10-30 µs on a CPU
    // back from idle). The router holds that off until every subscriber has its message; a retained replay does not.
    this.scheduler.markDirty(this);
  };

  /**
   * A message the MessageRouter routed to one of this client's subscriptions: what aedes' per-subscription closure
   * did (the `$` rule of wildcard filters, this client's own copy with no-local and retain-as-published applied),
   * then deliver().
   */
  deliverLive(packet: PacketLike, routed: RoutedSubscription, done: () => void): void {
    if (routed.blocksDollar && packet.topic.charCodeAt(0) === DOLLAR) {
      done();
      return;
    }
    this.deliver(new ClientCopy(packet, routed.record), done);
  }

  /** aedes has read the session's queue to resend it: what is routed from now on is not in that read. */
  resendStarted(): void {
    this.resendPending = false;
  }

  /** A PUBACK or PUBCOMP from the client: its slot in the window is free. */
  acknowledged(messageId: number): void {
    if (this.inflight.delete(messageId) && this.waiting.size > 0) this.schedule();
  }

  /**
   * Which bound a new message of `bytes` would break, if any. mosquitto's queue is what waits beyond the in-flight
   * window (max_queued_messages) and its bytes (max_queued_bytes); here a message also waits while the socket is
   * full, in the same queue.
   */
  private queueFull(bytes: number): QueueLimit | undefined {
    const { maxInflight, maxQueued, maxQueuedBytes } = this.limits;
    if (maxQueued > 0) {
      const window = maxInflight > 0 ? maxInflight : 0;
      const counted = maxInflight > 0 ? this.waiting.size + this.inflight.size : this.waiting.size;
      if (counted >= window + maxQueued) return 'messages';
    }
    // One message is always let through, however large: a client must be able to receive what it may be sent.
    if (maxQueuedBytes > 0 && this.waiting.size > 0 && this.waitingBytes + bytes > maxQueuedBytes) return 'bytes';
    return undefined;
  }

  /** Everything waiting, the newest included, goes out with the next flush. */
  private fitsWindow(): boolean {
    const { maxInflight } = this.limits;
    return maxInflight <= 0 || this.waiting.size + this.inflight.size <= maxInflight;
  }

  private windowFull(): boolean {
    return this.limits.maxInflight > 0 && this.inflight.size >= this.limits.maxInflight;
  }

  /**
   * On the next tick, not a direct call: mqemitter would otherwise recurse into its next queued message from here.
   * (queueMicrotask would cost an AsyncResource per call.)
   */
  private accepted(done: () => void): void {
    process.nextTick(done);
  }

  private schedule(): void {
    if (!this.stalled) this.scheduler.markDirty(this);
  }

  /** Writes what the window lets out, then lets the senders go on; called by the FlushScheduler. */
  flush(): void {
    this.wroteSinceFlush = false;
    if (this.stalled) return;
    const client = this.client;
    if (client.closed || !(client.connected || client.connecting)) {
      const unsent = this.waiting.size > 0;
      this.dropAll();
      // As aedes' write does: the client hears of it ('connection closed' closes it, if it is not yet, and reaches
      // the broker as clientError). A persistent session's messages stay in its store.
      if (unsent) client.emit('error', new Error('connection closed'));
      return;
    }
    if (!this.write()) return;
    callQueued(this.unwritten);
  }

  /**
   * Writes the waiting messages the window lets out, in one buffer. False when the socket is full: nothing more is
   * written until it drains, or until aedes' drain timeout disconnects the client.
   */
  private write(): boolean {
    const client = this.client;
    const waiting = this.waiting;
    let count = 0;
    while (count < waiting.size) {
      const packet = waiting.at(count);
      if (packet.qos > 0) {
        if (this.windowFull()) break;
        packet.messageId = this.nextMessageId();
        this.inflight.set(packet.messageId, true);
        // The message gets its identifier in the session before the client can acknowledge it.
        if (!client.clean && !packet.retain) this.sessions.numbered(client as unknown as SessionOwner, packet);
      }
      count++;
    }
    if (count === 0) return true;
    const buffer = encodePublishes(waiting, count);
    for (let i = 0; i < count; i++) this.waitingBytes -= waiting.at(i).payload.length;
    waiting.drop(count);
    if (writeNow(client.conn, buffer)) return true;
    // The socket took it, over its high-water mark: what follows waits in the queue until it drains, its senders
    // released now, so that this client's pace is nobody else's.
    this.stalled = true;
    callQueued(this.unwritten);
    client.waitForDrain((error) => {
      if (error?.message === 'drain timeout') this.events.drainTimedOut?.(client.id);
      this.stalled = false;
      if (this.waiting.size > 0) this.schedule();
    });
    return false;
  }

  /** The connection is gone: nothing more is sent; a persistent session's messages stay in its store. */
  private dropAll(): void {
    this.waiting.clear();
    this.waitingBytes = 0;
    this.inflight.clear();
    callQueued(this.unwritten);
  }

  private forget(original: PacketLike): void {
    const client = this.client;
    if (original.qos > 0 && !client.clean) this.sessions.dropped(client as unknown as SessionOwner, original);
  }

  /** aedes' own filtering, then the copy sent to this client at the QoS it subscribed with. */
  private forwardable(original: PacketLike): PacketLike | undefined {
    const client = this.client;
    // MQTT 5 no-local (aedes keeps the flag on the packet).
    if (original.nl && original.clientId === client.id) return undefined;
    if (!this.firstDelivery(original)) return undefined;
    const allowed = client.broker.authorizeForward(client as unknown as Client, original);
    if (!allowed) return undefined;
    // aedes hands every delivery a copy of its own (per subscription, per replayed retained message): it is this
    // client's to number and downgrade.
    allowed.qos = this.deliveryQos(allowed) as 0 | 1 | 2;
    return allowed;
  }

  /**
   * A client with overlapping subscriptions gets a message once. mqemitter hands a message to all the matching
   * subscriptions of a client one after the other, so a repeat is a delivery of the counter just delivered. aedes
   * instead dropped any counter not above the last one, which loses messages routed out of counter order: a QoS 1
   * message waits for the store, a QoS 0 message read after it does not.
   */
  private firstDelivery(packet: PacketLike): boolean {
    const brokerId = packet.brokerId;
    if (!brokerId) return true;
    const counter = packet.brokerCounter ?? 0;
    const duplicates = this.client.duplicates;
    if (duplicates[brokerId] === counter) return false;
    duplicates[brokerId] = counter;
    return true;
  }

  /**
   * The QoS to deliver at: at most the highest among this client's subscriptions matching the topic (MQTT-3.3.5-1
   * allows the maximum of overlapping ones). aedes looked up only a subscription to the exact topic, so a wildcard
   * subscription at QoS 1 received QoS 2 messages as QoS 2.
   */
  private deliveryQos(packet: PacketLike): number {
    if (packet.qos === 0) return 0;
    // Routed through a subscription granted at least the message's QoS: no other can grant more than the message has.
    // Below it (MQTT-3.8.4-6: the minimum of the two), another of the client's subscriptions may grant more.
    const via = (packet as Partial<ClientCopy>).subscriptionQos;
    if (via !== undefined && via >= packet.qos) return packet.qos;
    const subscriptions = this.client.subscriptions;
    const exact = subscriptions[packet.topic];
    if (exact && exact.qos >= packet.qos) return packet.qos;
    let granted = exact ? exact.qos : -1;
    for (const filter in subscriptions) {
      const qos = subscriptions[filter]!.qos;
      if (qos > granted && (filter === '#' ? packet.topic.charCodeAt(0) !== DOLLAR : topicMatches(filter, packet.topic))) {
        granted = qos;
        if (granted >= packet.qos) return packet.qos;
      }
    }
    // Delivered without a matching subscription (a retained message replayed on SUBSCRIBE to a filter the client
    // has just dropped): keep the message's own QoS, as aedes does.
    return granted < 0 ? packet.qos : granted;
  }

  private nextMessageId(): number {
    const client = this.client;
    let id = client._nextId;
    // Skip identifiers still in flight: after 65,535 messages they come round again.
    for (let tries = 0; tries < 65535 && this.inflight.has(id); tries++) id = id >= 65535 ? 1 : id + 1;
    client._nextId = id >= 65535 ? 1 : id + 1;
    return id;
  }
}

/** One client's copy of a routed message: numbered, downgraded and written for this client only. */
class ClientCopy implements PacketLike {
  readonly cmd = 'publish';
  readonly topic: string;
  readonly payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  readonly dup = false;
  messageId: number | undefined = undefined;
  readonly brokerId: string | null | undefined;
  readonly brokerCounter: number | undefined;
  readonly clientId: string | undefined;
  readonly nl: boolean | undefined;
  /** The QoS granted to the subscription it was routed through. */
  readonly subscriptionQos: number;

  constructor(packet: PacketLike, subscription: SubscriptionRecord) {
    this.topic = packet.topic;
    this.payload = packet.payload;
    this.qos = packet.qos;
    this.retain = subscription.rap ? packet.retain : false;
    this.brokerId = packet.brokerId;
    this.brokerCounter = packet.brokerCounter;
    this.clientId = packet.clientId;
    this.nl = subscription.nl;
    this.subscriptionQos = subscription.qos;
  }
}

