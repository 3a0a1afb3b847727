/**
 * The gateway's MQTT topic layout. Everything that publishes or subscribes asks this class for topic names, so the
 * layout lives in one place:
 *
 *   <base>/status                      gateway availability (online / offline, the broker's last will)
 *   <base>/<device>/state              a device's JSON state (sensor channels, or {"state":"ON"} for inputs/outputs)
 *   <base>/<device>/set                commands for one output
 *   <base>/<device>/availability       a device's own availability (online / offline)
 *   <base>/command                     gateway-wide JSON commands
 *   <base>/command/response            answers to commands
 *   <prefix>/<component>/<node>/<object>/config   Home Assistant discovery
 */

export class TopicError extends Error {
  /** What was being named: `device name`, `base topic`, `discovery object id`... */
  readonly subject: string;
  readonly value: string;

  constructor(subject: string, value: string, reason: string) {
    super(`invalid ${subject} ${JSON.stringify(value)}: ${reason}`);
    this.name = 'TopicError';
    this.subject = subject;
    this.value = value;
  }
}

export interface TopicLayoutOptions {
  /** Topic prefix of everything this gateway publishes, e.g. `pi-edge/livingroom`. No wildcards, no empty levels. */
  baseTopic: string;
  /**
   * Stable identity of the gateway, used as the discovery node id and in unique ids: only `[a-zA-Z0-9_-]`, as Home
   * Assistant requires for discovery topic levels. Defaults to the last level of baseTopic with other characters
   * replaced by `_`.
   */
  gatewayId?: string;
  /** Home Assistant discovery prefix, `homeassistant` unless HA was reconfigured. */
  discoveryPrefix: string;
}

/** Home Assistant accepts only these characters in the node id and object id levels of a discovery topic. */
const DISCOVERY_ID = /^[a-zA-Z0-9_-]+$/;
const COMPONENT = /^[a-z][a-z0-9_]*$/;

/** Throws TopicError unless `name` is usable as exactly one topic level (not empty, no `/ + #`, no NUL). */
export function assertTopicLevel(name: string, subject = 'device name'): void {
  if (typeof name !== 'string' || name.length === 0) throw new TopicError(subject, String(name), 'must not be empty');
  if (name.includes('/')) throw new TopicError(subject, name, "must not contain '/' (it would add a topic level)");
  if (name.includes('+') || name.includes('#')) throw new TopicError(subject, name, "must not contain the MQTT wildcards '+' or '#'");
  if (name.includes('\u0000')) throw new TopicError(subject, name, 'must not contain the NUL character');
  if (name.trim() !== name) throw new TopicError(subject, name, 'must not start or end with whitespace');
}

/** Throws TopicError unless `topic` is a publishable topic name: levels separated by `/`, none empty, no wildcards. */
function assertTopicName(topic: string, subject: string): void {
  if (typeof topic !== 'string' || topic.length === 0) throw new TopicError(subject, String(topic), 'must not be empty');
  if (topic.startsWith('$')) throw new TopicError(subject, topic, "must not start with '$' (reserved for the broker)");
  for (const level of topic.split('/')) {
    if (level.length === 0) throw new TopicError(subject, topic, "must not have empty levels (leading, trailing or doubled '/')");
    assertTopicLevel(level, subject);
  }
}

function assertDiscoveryId(id: string, subject: string): void {
  if (typeof id !== 'string' || !DISCOVERY_ID.test(id)) {
    throw new TopicError(subject, String(id), 'only letters, digits, underscore and hyphen are allowed ([a-zA-Z0-9_-])');
  }
}

/** Map any string onto the discovery id alphabet `[a-zA-Z0-9_-]`; `undefined` if nothing usable is left. */
export function toDiscoveryId(value: string): string | undefined {
  const id = value.replace(/[^a-zA-Z0-9_-]+/g, '_').replace(/^_+|_+$/g, '');
  return id.length > 0 ? id : undefined;
}

export class TopicLayout {
  readonly baseTopic: string;
  readonly gatewayId: string;
  readonly discoveryPrefix: string;

  constructor(options: TopicLayoutOptions) {
    assertTopicName(options.baseTopic, 'base topic');
    assertTopicName(options.discoveryPrefix, 'discovery prefix');
    this.baseTopic = options.baseTopic;
    this.discoveryPrefix = options.discoveryPrefix;
    if (options.gatewayId !== undefined) {
      assertDiscoveryId(options.gatewayId, 'gateway id');
      this.gatewayId = options.gatewayId;
    } else {
      const lastLevel = options.baseTopic.split('/').pop() ?? '';
      const derived = toDiscoveryId(lastLevel);
      if (derived === undefined) {
        throw new TopicError('base topic', options.baseTopic, 'cannot derive a gateway id from its last level; set gatewayId');
      }
      this.gatewayId = derived;
    }
  }

  gatewayStatus(): string {
    return `${this.baseTopic}/status`;
  }

  state(device: string): string {
    return this.deviceTopic(device, 'state');
  }

  set(device: string): string {
    return this.deviceTopic(device, 'set');
  }

  availability(device: string): string {
    return this.deviceTopic(device, 'availability');
  }

  command(): string {
    return `${this.baseTopic}/command`;
  }

  response(): string {
    return `${this.baseTopic}/command/response`;
  }

  /** Subscription filter matching every output's set topic. */
  setWildcard(): string {
    return `${this.baseTopic}/+/set`;
  }

  /** The device named by a set topic, or `undefined` when `topic` is not `<base>/<device>/set`. */
  deviceFromSetTopic(topic: string): string | undefined {
    const prefix = `${this.baseTopic}/`;
    if (!topic.startsWith(prefix) || !topic.endsWith('/set')) return undefined;
    const device = topic.slice(prefix.length, -'/set'.length);
    if (device.length === 0 || device.includes('/')) return undefined;
    return device;
  }

  discoveryConfig(component: string, nodeId: string, objectId: string): string {
    if (!COMPONENT.test(component)) throw new TopicError('discovery component', component, 'expected a Home Assistant platform such as sensor or switch');
    assertDiscoveryId(nodeId, 'discovery node id');
    assertDiscoveryId(objectId, 'discovery object id');
    return `${this.discoveryPrefix}/${component}/${nodeId}/${objectId}/config`;
  }

  /** Subscription filter matching every discovery config this gateway (as node id) announced. */
  ownDiscoveryWildcard(): string {
    return `${this.discoveryPrefix}/+/${this.gatewayId}/+/config`;
  }

  /** True when `topic` is a discovery config topic announced under this gateway's node id. */
  isOwnDiscoveryTopic(topic: string): boolean {
    const prefix = `${this.discoveryPrefix}/`;
    if (!topic.startsWith(prefix)) return false;
    const levels = topic.slice(prefix.length).split('/');
    return levels.length === 4 && levels[1] === this.gatewayId && levels[3] === 'config' && COMPONENT.test(levels[0] ?? '') && DISCOVERY_ID.test(levels[2] ?? '');
  }

  private deviceTopic(device: string, leaf: string): string {
    assertTopicLevel(device);
    return `${this.baseTopic}/${device}/${leaf}`;
  }
}
