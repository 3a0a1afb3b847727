import type { Client } from 'aedes';
import type { AedesClientInternals, PacketLike } from '../aedes-internals.js';
import { startsWithWildcard } from '../../../mqtt/topic-match.js';


/** What aedes keeps in `client.subscriptions[filter]` (lib/handlers/subscribe.js: Subscription). */
export interface SubscriptionRecord {
  qos: number;
  /** The listener aedes registered in the matcher for this subscription. */
  func: (...args: never[]) => void;
  rap?: boolean;
  nl?: boolean;
}

/** Where a client's subscription delivers: its OutgoingWindow. */
export interface LiveDeliverer {
  deliverLive(packet: PacketLike, subscription: RoutedSubscription, done: () => void): void;
}

/** A client subscription as the router sees it, found from the listener aedes registered for it. */
export interface RoutedSubscription {
  readonly deliverer: LiveDeliverer;
  readonly record: SubscriptionRecord;
  /** MQTT-4.7.2-1: a filter starting with a wildcard does not match topics starting with '$'. */
  readonly blocksDollar: boolean;
}

type Subscriptions = Record<string, SubscriptionRecord | undefined>;

/**
 * Knows which client each subscription listener belongs to, so the router can hand a message straight to the
 * client's window instead of calling aedes' per-subscription closure (which copies the packet with aedes-packet and
 * calls the window anyway). aedes writes every subscription of a client into `client.subscriptions` just before it
 * registers the listener; observe() replaces that object, before the client's CONNECT is handled, with a proxy that
 * notes each record as it is written. Reads go through to the plain object.
 */
export class SubscriptionRegistry {
  private readonly byListener = new WeakMap<object, RoutedSubscription>();
  private readonly owners = new WeakMap<Subscriptions, LiveDeliverer>();
  private readonly watcher: ProxyHandler<Subscriptions> = {
    set: (target, filter, record: SubscriptionRecord | undefined) => {
      target[filter as string] = record;
      const deliverer = this.owners.get(target);
      if (deliverer && typeof record?.func === 'function') {
        this.byListener.set(record.func, { deliverer, record, blocksDollar: startsWithWildcard(filter as string) });
      }
      return true;
    },
  };

  /** To call before aedes records any subscription of `client` (its CONNECT restores a persistent session's). */
  observe(client: Client, deliverer: LiveDeliverer): void {
    const internals = client as unknown as AedesClientInternals;
    const target: Subscriptions = Object.create(null) as Subscriptions;
    Object.assign(target, internals.subscriptions);
    this.owners.set(target, deliverer);
    internals.subscriptions = new Proxy(target, this.watcher);
  }

  /** The client subscription `listener` was registered for, if it is one. */
  routeOf(listener: object): RoutedSubscription | undefined {
    return this.byListener.get(listener);
  }
}
