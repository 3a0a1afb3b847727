import type { BusHandler, BusMessage, BusSubscription, LocalBus, PublishRequest } from '../bus/local-bus.js';
import type { RoutedMessage } from './engine/engine.js';

/** What the bus needs of the broker: its in-process publish, subscribe and retained store. */
export interface BusHost {
  publish(message: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean; origin: string }): Promise<void>;
  subscribe(filter: string, handler: (message: RoutedMessage) => void | Promise<void>): Promise<() => Promise<void>>;
  retained(filter: string): Promise<RoutedMessage[]>;
}

/** One in-process participant's handle on the broker: everything it publishes carries its origin. */
export class BrokerBus implements LocalBus {
  constructor(
    private readonly host: BusHost,
    readonly origin: string,
  ) {}

  publish(message: PublishRequest): Promise<void> {
    return this.host.publish({
      topic: message.topic,
      payload: typeof message.payload === 'string' ? Buffer.from(message.payload) : message.payload,
      qos: message.qos ?? 0,
      retain: message.retain ?? false,
      origin: this.origin,
    });
  }

  async subscribe(filter: string, handler: BusHandler): Promise<BusSubscription> {
    const unsubscribe = await this.host.subscribe(filter, (routed) =>
      handler({
        topic: routed.topic,
        payload: routed.payload,
        qos: routed.qos,
        retain: routed.retain,
        publisher: routed.clientId !== undefined ? { kind: 'client', clientId: routed.clientId } : { kind: 'local', origin: routed.origin ?? 'broker' },
      }),
    );
    return { unsubscribe };
  }

  async retained(filter: string): Promise<BusMessage[]> {
    return (await this.host.retained(filter)).map(({ topic, payload, qos, retain }) => ({ topic, payload, qos, retain }));
  }
}
