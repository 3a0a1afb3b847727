import { assertTopicLevel, toDiscoveryId } from '../topics.js';
import type {
  DiscoveryComponent,
  DiscoveryMessage,
  DiscoveryOptions,
  DiscoveryPayload,
  GatewayEntities,
  InputEntity,
  OutputEntity,
  SensorChannelEntity,
  SensorDeviceEntities,
  SensorStateClass,
} from './types.js';

const ORIGIN_NAME = 'pi-edge-gateway';
const DEFAULT_MANUFACTURER = 'Raspberry Pi Ltd';
const PAYLOAD_ON = 'ON';
const PAYLOAD_OFF = 'OFF';
const PAYLOAD_AVAILABLE = 'online';
const PAYLOAD_NOT_AVAILABLE = 'offline';

export class DiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiscoveryError';
  }
}

/**
 * Device classes whose HA state class is not `measurement` (DEVICE_CLASS_STATE_CLASSES in
 * homeassistant/components/sensor/const.py); `null` = no state class (not numeric).
 */
const STATE_CLASS_BY_DEVICE_CLASS: Readonly<Record<string, SensorStateClass | null>> = {
  date: null,
  enum: null,
  timestamp: null,
  energy: 'total_increasing',
  gas: 'total_increasing',
  monetary: 'total',
  volume: 'total_increasing',
  water: 'total_increasing',
  wind_direction: 'measurement_angle',
};

export function defaultStateClass(deviceClass: string | undefined): SensorStateClass | null {
  if (deviceClass !== undefined && Object.hasOwn(STATE_CLASS_BY_DEVICE_CLASS, deviceClass)) return STATE_CLASS_BY_DEVICE_CLASS[deviceClass]!;
  return 'measurement';
}

/** `expire_after` in whole seconds: `factor` × the longest expected gap between state messages. */
export function expireAfterSeconds(maxPublishGapMs: number | undefined, factor = 3): number | undefined {
  if (maxPublishGapMs === undefined || !Number.isFinite(maxPublishGapMs) || maxPublishGapMs <= 0) return undefined;
  return Math.ceil((maxPublishGapMs * factor) / 1000);
}

/** Jinja accessor for a JSON key: `value_json.temperature`, or `value_json['odd-key']` when not an identifier. */
export function valueTemplate(key: string): string {
  const accessor = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key).replace(/^"|"$/g, "'")}]`;
  return `{{ value_json${accessor} }}`;
}

/** An entity id (`<domain>.<object>`) HA accepts: lowercase [a-z0-9_], no leading, trailing or doubled underscore. */
export function defaultEntityId(component: DiscoveryComponent, uniqueId: string): string {
  const object = uniqueId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return `${component}.${object}`;
}

function humanize(key: string): string {
  const words = key.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Pure builders of Home Assistant MQTT discovery messages for every entity of the gateway: one `sensor` per sensor
 * channel, one `binary_sensor` per input, one `switch` or `light` per output. All share one device block and require
 * both the gateway status topic and the entity's own availability topic to be `online` (availability_mode: all).
 */
class DiscoveryBuilder {
  constructor(private readonly options: DiscoveryOptions) {}

  /** Throws DiscoveryError on invalid or colliding names. */
  build(entities: GatewayEntities): DiscoveryMessage[] {
    const messages: DiscoveryMessage[] = [];
    for (const sensor of entities.sensors ?? []) {
      for (const channel of sensor.channels) messages.push(this.sensor(sensor, channel));
    }
    for (const input of entities.inputs ?? []) messages.push(this.binarySensor(input));
    for (const output of entities.outputs ?? []) messages.push(this.output(output));
    const seen = new Map<string, string>();
    for (const message of messages) {
      const other = seen.get(message.uniqueId);
      if (other !== undefined) {
        throw new DiscoveryError(`two entities map to the same unique id "${message.uniqueId}" (${other} and ${message.topic}); rename one`);
      }
      seen.set(message.uniqueId, message.topic);
    }
    return messages;
  }

  sensor(sensor: SensorDeviceEntities, channel: SensorChannelEntity): DiscoveryMessage {
    const objectId = `${this.id(sensor.device, 'sensor device')}_${this.id(channel.key, `channel of ${sensor.device}`)}`;
    const payload = this.common('sensor', objectId, channel.name ?? `${sensor.name ?? sensor.device} ${humanize(channel.key)}`, sensor.device);
    payload.state_topic = this.options.topics.state(sensor.device);
    payload.value_template = valueTemplate(channel.key);
    if (channel.deviceClass !== undefined) payload.device_class = channel.deviceClass;
    if (channel.unit) payload.unit_of_measurement = channel.unit;
    const stateClass = channel.stateClass === undefined ? defaultStateClass(channel.deviceClass) : channel.stateClass;
    if (stateClass !== null) payload.state_class = stateClass;
    if (channel.suggestedDisplayPrecision !== undefined) payload.suggested_display_precision = channel.suggestedDisplayPrecision;
    if (channel.expireAfterS !== undefined) payload.expire_after = channel.expireAfterS;
    if (channel.icon !== undefined) payload.icon = channel.icon;
    return this.message('sensor', objectId, payload);
  }

  binarySensor(input: InputEntity): DiscoveryMessage {
    const objectId = this.id(input.device, 'input');
    const payload = this.common('binary_sensor', objectId, input.name ?? input.device, input.device);
    payload.state_topic = this.options.topics.state(input.device);
    payload.value_template = valueTemplate('state');
    payload.payload_on = PAYLOAD_ON;
    payload.payload_off = PAYLOAD_OFF;
    if (input.deviceClass !== undefined) payload.device_class = input.deviceClass;
    if (input.expireAfterS !== undefined) payload.expire_after = input.expireAfterS;
    if (input.icon !== undefined) payload.icon = input.icon;
    return this.message('binary_sensor', objectId, payload);
  }

  /**
   * Switch: `value_template` extracts `state` from the JSON state; HA compares it with payload_on/payload_off
   * (state_on/state_off default to them). Light: the default `basic` schema, which reads the state through
   * `state_value_template` and sends payload_on/payload_off to command_topic — the same plain ON/OFF the set topic
   * accepts, so both entity kinds drive the output identically.
   */
  output(output: OutputEntity): DiscoveryMessage {
    const component: DiscoveryComponent = output.as ?? 'switch';
    const objectId = this.id(output.device, 'output');
    const payload = this.common(component, objectId, output.name ?? output.device, output.device);
    if (component === 'light') payload.schema = 'basic';
    payload.command_topic = this.options.topics.set(output.device);
    payload.state_topic = this.options.topics.state(output.device);
    payload[component === 'light' ? 'state_value_template' : 'value_template'] = valueTemplate('state');
    payload.payload_on = PAYLOAD_ON;
    payload.payload_off = PAYLOAD_OFF;
    payload.optimistic = false;
    if (component === 'switch' && output.deviceClass !== undefined) payload.device_class = output.deviceClass;
    if (output.icon !== undefined) payload.icon = output.icon;
    return this.message(component, objectId, payload);
  }

  /** Keys every entity carries, in a stable order: name, ids, availability, device, origin. */
  private common(component: DiscoveryComponent, objectId: string, name: string, device: string): DiscoveryPayload {
    const { topics } = this.options;
    const uniqueId = `${topics.gatewayId}_${objectId}`;
    const payload: DiscoveryPayload = { name, unique_id: uniqueId, default_entity_id: defaultEntityId(component, uniqueId) };
    if (this.options.legacyObjectId) payload.object_id = defaultEntityId(component, uniqueId).slice(component.length + 1);
    payload.availability = [topics.gatewayStatus(), topics.availability(device)].map((topic) => ({
      topic,
      payload_available: PAYLOAD_AVAILABLE,
      payload_not_available: PAYLOAD_NOT_AVAILABLE,
    }));
    payload.availability_mode = 'all';
    if (this.options.qos !== undefined) payload.qos = this.options.qos;
    payload.device = this.deviceBlock();
    payload.origin = this.originBlock();
    return payload;
  }

  private deviceBlock(): Record<string, unknown> {
    const { device, topics } = this.options;
    const block: Record<string, unknown> = {
      identifiers: [topics.gatewayId],
      name: device.name,
      manufacturer: device.manufacturer ?? DEFAULT_MANUFACTURER,
      model: device.model,
      sw_version: device.swVersion,
    };
    if (device.hwVersion !== undefined) block.hw_version = device.hwVersion;
    if (device.serialNumber !== undefined) block.serial_number = device.serialNumber;
    if (device.configurationUrl !== undefined) block.configuration_url = device.configurationUrl;
    if (device.suggestedArea !== undefined) block.suggested_area = device.suggestedArea;
    return block;
  }

  private originBlock(): Record<string, unknown> {
    const { origin } = this.options;
    const block: Record<string, unknown> = { name: ORIGIN_NAME, sw_version: origin.swVersion };
    if (origin.supportUrl !== undefined) block.support_url = origin.supportUrl;
    return block;
  }

  private message(component: DiscoveryComponent, objectId: string, payload: DiscoveryPayload): DiscoveryMessage {
    const { topics } = this.options;
    return {
      component,
      uniqueId: payload.unique_id as string,
      topic: topics.discoveryConfig(component, topics.gatewayId, objectId),
      payload,
      retain: true,
    };
  }

  private id(name: string, what: string): string {
    try {
      assertTopicLevel(name, what);
    } catch (error) {
      throw new DiscoveryError((error as Error).message);
    }
    const id = toDiscoveryId(name);
    if (id === undefined) throw new DiscoveryError(`${what} "${name}" has no letters or digits to build a discovery id from`);
    return id;
  }
}

/** Convenience: build all discovery messages of the gateway. */
export function buildDiscoveryMessages(entities: GatewayEntities, options: DiscoveryOptions): DiscoveryMessage[] {
  return new DiscoveryBuilder(options).build(entities);
}
