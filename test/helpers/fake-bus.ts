import type { BusHandler, BusMessage, BusSubscription, LocalBus, PublishRequest } from '../../src/bus/local-bus.js';
import { topicMatches } from '../../src/mqtt/topic-match.js';

/** A LocalBus in memory: publishes recorded, retained messages set by hand, messages delivered by hand. */
export class FakeBus implements LocalBus {
  readonly origin = 'test';
  published: PublishRequest[] = [];
  retainedStore: BusMessage[] = [];
  retainedFilters: string[] = [];
  handlers = new Map<string, BusHandler>();
  failPublish = false;

  async publish(message: PublishRequest): Promise<void> {
    await Promise.resolve();
    if (this.failPublish) throw new Error('broker gone');
    this.published.push(message);
  }

  async subscribe(filter: string, handler: BusHandler): Promise<BusSubscription> {
    this.handlers.set(filter, handler);
    return { unsubscribe: async () => void this.handlers.delete(filter) };
  }

  async retained(filter: string): Promise<BusMessage[]> {
    this.retainedFilters.push(filter);
    return this.retainedStore.filter((m) => topicMatches(filter, m.topic));
  }

  /** Delivers to every matching subscription as a network client's message, then lets async handlers finish. */
  async deliver(topic: string, payload: string | Buffer): Promise<void> {
    for (const [filter, handler] of this.handlers) {
      if (!topicMatches(filter, topic)) continue;
      void handler({ topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), qos: 0, retain: false, publisher: { kind: 'client', clientId: 'test' } });
    }
    for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export const retainedMessage = (topic: string, payload = '{"name":"x"}'): BusMessage => ({ topic, payload: Buffer.from(payload), qos: 0, retain: true });
