import type { Client } from 'aedes';
import { requireFromAedes, type PacketLike } from '../aedes-internals.js';
import type { TopicMatcher } from './match-cache.js';
import type { SessionWrites } from './session-writes.js';
import type { SubscriptionRegistry } from './subscription-registry.js';
import { startsWithWildcard } from '../../../mqtt/topic-match.js';

const DOLLAR = 0x24;
const SLASH = 0x2f;
/** The longest topic MQTT can carry: its length is a 16-bit field. */
const MAX_TOPIC_BYTES = 65_535;

/** A persistent session's subscription, as the store lists them for a topic. */
export interface StoredSubscription {
  clientId: string;
  topic: string;
  qos: number;
}

/**
 * What the router needs of the session store. Each call applies its change before it returns (the promise only
 * reports the outcome), as the stores of persistence.ts do: a retained message is stored before any client can see
 * it, and a message is queued for its persistent subscribers before any of them can acknowledge it.
 */
export interface RoutingStore {
  storeRetained(packet: PacketLike): Promise<unknown>;
  subscriptionsByTopic(topic: string): Promise<unknown>;
  /** The persistent subscriptions matching `topic` when known without waiting. */
  subscribersNow(topic: string): StoredSubscription[] | undefined;
  outgoingEnqueueNow(subs: StoredSubscription[], packet: PacketLike): void;
}

/** The parts of the aedes broker the router reads and calls. */
export interface RouterHost {
  id: string;
  counter: number;
  maxTopicLevels: number;
  /** aedes' `published` option, called once every subscriber has taken the message. */
  published(packet: object, client: Client | null, done: (error?: Error | null) => void): void;
  emit(event: string, ...args: unknown[]): boolean;
}

/** Held while a message is handed to its subscribers (FlushScheduler): their writes first, then the flush. */
export interface FlushHold {
  hold(): void;
  release(): void;
}

/** A subscriber as mqemitter keeps it: aedes' per-subscription function, or an in-process listener. */
type Listener = ((packet: PacketLike, done: () => void) => void) | ((done: () => void) => void);

export type PublishDone = (error?: Error | null) => void;

const Packet = requireFromAedes('aedes-packet') as new (original: object, broker: { id: string; counter: number }) => PacketLike;

/**
 * Routes every PUBLISH in place of aedes' `publish`: stores a retained message, queues a QoS 1/2 message for the
 * persistent sessions subscribed to it, and hands it to each matching subscription's function, in one synchronous
 * pass when the store already knows the topic's subscribers. aedes runs the same steps as a series of callbacks
 * (storeRetained, enqueueOffline, emitPacket, callPublished), two promise hops and an mqemitter/fastparallel round
 * between reading a message and the first delivery, ~100 µs of a fan-out message's latency on a cold CPU.
 *
 * What aedes does is kept: the packet it routes (aedes-packet, with the next broker counter), the topic level limit,
 * the `$` rule for the persistent subscriptions of wildcard filters, `published` and the 'publish' event once all
 * subscribers have the message, and mqemitter's calling convention for its listeners (aedes' own $SYS listeners
 * and in-process subscribers included). The matcher is mqemitter's own, so subscriptions made through aedes are the
 * ones routed to; a client subscription's listener is recognised (SubscriptionRegistry) and its window called
 * directly.
 */
export class MessageRouter {
  constructor(
    private readonly host: RouterHost,
    private readonly store: RoutingStore,
    private readonly matcher: TopicMatcher,
    /** `this` for the listeners, as mqemitter calls them. */
    private readonly emitter: { closed: boolean },
    private readonly subscriptions: SubscriptionRegistry,
    private readonly flushes: FlushHold,
    /** The windows' changes to the persistent sessions' queues, held until the message is queued there. */
    private readonly sessions: Pick<SessionWrites, 'hold' | 'release'>,
  ) {}

  publish(original: PacketLike, client: Client | null, done: PublishDone): void {
    const host = this.host;
    if (levelCount(original.topic) > host.maxTopicLevels) {
      done(new Error('topic has too many levels'));
      return;
    }
    // A topic MQTT cannot carry (its UTF-8 longer than a 16-bit length) would throw in a subscriber's encoder in the
    // middle of a delivery and take the process down. A client's can be one when its bad UTF-8 bytes decoded to
    // 3-byte U+FFFD; the local bus's when a bridge maps a long cloud topic under a prefix. Only a topic of more than
    // a third of the limit in UTF-16 units can be that long, so the common case costs one comparison.
    if (original.topic.length > MAX_TOPIC_BYTES / 3 && Buffer.byteLength(original.topic) > MAX_TOPIC_BYTES) {
      done(new Error(`topic longer than ${MAX_TOPIC_BYTES} bytes`));
      return;
    }
    if (this.emitter.closed) {
      done(new Error('broker is closed'));
      return;
    }
    const packet = new Packet(original, host);
    if (client) packet.clientId = client.id;
    else if (original.origin !== undefined) packet.origin = original.origin;
    if (packet.retain) this.store.storeRetained(packet).then(undefined, this.failed);
    if (packet.qos === 0) {
      this.deliver(original, packet, client, done);
      return;
    }
    const subscribers = this.store.subscribersNow(packet.topic);
    if (subscribers) {
      this.deliverQueued(subscribers, original, packet, client, done);
      return;
    }
    this.store.subscriptionsByTopic(packet.topic).then((found) => this.deliverQueued(found as StoredSubscription[], original, packet, client, done), this.failed);
  }

  /**
   * A QoS 1/2 message is queued for every persistent session subscribed, connected or not. aedes queues it before
   * the first delivery; here it is queued after the last subscriber's write, in the same call, and the windows'
   * changes to those queues (its packet identifier per session) wait for it (SessionWrites). No client can
   * acknowledge it in between.
   */
  private deliverQueued(subscribers: StoredSubscription[], original: PacketLike, packet: PacketLike, client: Client | null, done: PublishDone): void {
    if (subscribers.length === 0) {
      this.deliver(original, packet, client, done);
      return;
    }
    this.sessions.hold();
    try {
      this.deliver(original, packet, client, done);
    } finally {
      this.enqueue(subscribers, packet);
      this.sessions.release();
    }
  }

  private enqueue(subscribers: StoredSubscription[], packet: PacketLike): void {
    // MQTT-4.7.2-1: filters starting with a wildcard do not match topics starting with '$'.
    const eligible = packet.topic.charCodeAt(0) === DOLLAR ? subscribers.filter((sub) => !startsWithWildcard(sub.topic)) : subscribers;
    try {
      this.store.outgoingEnqueueNow(eligible, packet);
    } catch (error) {
      this.failed(error as Error);
    }
  }

  private deliver(original: PacketLike, packet: PacketLike, client: Client | null, done: PublishDone): void {
    const listeners = this.matcher.match(packet.topic) as Listener[];
    if (listeners.length === 0) {
      this.finish(original, client, done);
      return;
    }
    const round = new DeliveryRound(listeners.length, () => this.finish(original, client, done));
    const emitter = this.emitter;
    const subscriptions = this.subscriptions;
    this.flushes.hold();
    try {
      for (const listener of listeners) {
        const routed = subscriptions.routeOf(listener);
        if (routed) routed.deliverer.deliverLive(packet, routed, round.release);
        else if (listener.length === 1) (listener as (done: () => void) => void).call(emitter, round.release);
        else (listener as (packet: PacketLike, done: () => void) => void).call(emitter, packet, round.release);
      }
    } finally {
      this.flushes.release();
    }
  }

  private finish(original: PacketLike, client: Client | null, done: PublishDone): void {
    this.host.published(original, client, done);
    this.host.emit('publish', original, client);
  }

  /** The stores do not fail in memory; if one ever does, aedes' way: an 'error' on the broker. */
  private readonly failed = (error: Error): void => {
    this.host.emit('error', error);
  };
}

/** Counts a message's subscribers as they take it; ends when all have. */
class DeliveryRound {
  constructor(
    private pending: number,
    private readonly onDone: () => void,
  ) {}

  readonly release = (): void => {
    if (--this.pending === 0) this.onDone();
  };
}

function levelCount(topic: string): number {
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === SLASH) levels++;
  return levels;
}
