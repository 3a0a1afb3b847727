import type { LocalBus } from '../bus/local-bus.js';
import type { Logger } from '../util/logger.js';
import type { TopicLayout } from './topics.js';

export interface PublishSettings {
  qos: 0 | 1 | 2;
  retain: boolean;
}

/**
 * Everything the gateway says about its devices: JSON state, availability and its own status. Publishing never
 * throws into the caller: a failed publish is logged, and the next state supersedes it.
 */
export class StatePublisher {
  private readonly log: Logger;

  constructor(
    private readonly bus: LocalBus,
    private readonly topics: TopicLayout,
    private readonly settings: PublishSettings,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'publish' });
  }

  /** `<base>/<device>/state`: the values, their units and an ISO timestamp. */
  sensorState(device: string, values: Record<string, number>, units: Record<string, string>, at: number): Promise<void> {
    const unitsOfValues = Object.fromEntries(Object.keys(values).flatMap((key) => (units[key] ? [[key, units[key]]] : [])));
    return this.send(this.topics.state(device), { ...values, units: unitsOfValues, time: new Date(at).toISOString() });
  }

  /** `<base>/<device>/state` of an input or output: `{"state":"ON"}`. */
  binaryState(device: string, state: string, at: number, retain = this.settings.retain): Promise<void> {
    return this.send(this.topics.state(device), { state, time: new Date(at).toISOString() }, retain);
  }

  availability(device: string, online: boolean): Promise<void> {
    return this.raw(this.topics.availability(device), online ? 'online' : 'offline', true);
  }

  gatewayStatus(online: boolean): Promise<void> {
    return this.raw(this.topics.gatewayStatus(), online ? 'online' : 'offline', true);
  }

  json(topic: string, body: unknown, retain = false): Promise<void> {
    return this.raw(topic, JSON.stringify(body), retain);
  }

  private send(topic: string, body: unknown, retain = this.settings.retain): Promise<void> {
    return this.raw(topic, JSON.stringify(body), retain);
  }

  private async raw(topic: string, payload: string, retain: boolean): Promise<void> {
    try {
      await this.bus.publish({ topic, payload, qos: this.settings.qos, retain });
    } catch (error) {
      this.log.error({ err: error, topic }, 'publish failed');
    }
  }
}
