import type { BusSubscription, LocalBus } from '../../bus/local-bus.js';
import type { Logger } from '../../util/logger.js';
import type { TopicLayout } from '../topics.js';
import { encodeDiscoveryPayload } from './abbreviations.js';
import { discoveryRemovals } from './removal.js';
import type { DiscoveryMessage } from './types.js';

/**
 * Announces the gateway's entities to Home Assistant (retained config topics), removes the ones that left the
 * config, and announces again whenever Home Assistant says it is back online.
 */
export class DiscoveryPublisher {
  private subscription: BusSubscription | undefined;
  private readonly log: Logger;

  constructor(
    private readonly bus: LocalBus,
    private readonly topics: TopicLayout,
    private readonly messages: readonly DiscoveryMessage[],
    private readonly statusTopic: string,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'discovery' });
  }

  async start(): Promise<void> {
    await this.removeStale();
    await this.announce();
    this.subscription = await this.bus.subscribe(this.statusTopic, ({ payload }) => {
      if (payload.toString().trim() === 'online') {
        this.log.info('Home Assistant is online, announcing again');
        // Nothing to await here: a failure (broker stopping) must not become an unhandled rejection.
        this.announce().catch((error: unknown) => this.log.error({ err: error }, 'discovery announcement failed'));
      }
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.unsubscribe();
  }

  async announce(): Promise<void> {
    for (const message of this.messages) {
      await this.bus.publish({ topic: message.topic, payload: encodeDiscoveryPayload(message.payload), qos: 1, retain: true });
    }
    this.log.info({ entities: this.messages.length }, 'discovery announced');
  }

  private async removeStale(): Promise<void> {
    const previous = await this.bus.retained(this.topics.ownDiscoveryWildcard());
    const removals = discoveryRemovals(
      previous.filter((m) => m.payload.length > 0).map((m) => m.topic),
      this.messages,
      this.topics,
    );
    for (const removal of removals) {
      await this.bus.publish({ topic: removal.topic, payload: '', qos: 1, retain: true });
    }
    if (removals.length > 0) this.log.info({ removed: removals.map((r) => r.topic) }, 'removed entities that left the config');
  }
}
