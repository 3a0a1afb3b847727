import type { SensorChannel } from '../../drivers/types.js';
import type { TopicLayout } from '../topics.js';

/** Home Assistant sensor state classes (homeassistant/components/sensor/const.py, SensorStateClass). */
export type SensorStateClass = 'measurement' | 'measurement_angle' | 'total' | 'total_increasing';

/** The gateway itself: one Home Assistant device that owns every entity. */
export interface GatewayDeviceInfo {
  /** Device name shown in Home Assistant, e.g. "Greenhouse Pi". Entity names must not repeat it. */
  name: string;
  /** Default "Raspberry Pi Ltd". */
  manufacturer?: string;
  /** e.g. "Raspberry Pi 4 Model B" (from /proc/device-tree/model). */
  model: string;
  /** The gateway's version. */
  swVersion: string;
  hwVersion?: string;
  serialNumber?: string;
  /** A link to the gateway's own UI or docs; HA shows it on the device page. */
  configurationUrl?: string;
  suggestedArea?: string;
}

export interface OriginInfo {
  swVersion: string;
  supportUrl?: string;
}

export interface SensorChannelEntity extends SensorChannel {
  /** Entity name; default "<sensor name> <Key>". */
  name?: string;
  /** Override the state class chosen from the device class; `null` omits it (text sensors). */
  stateClass?: SensorStateClass | null;
  suggestedDisplayPrecision?: number;
  /** Seconds without a state message after which HA marks the entity unavailable; omit when publications may pause. */
  expireAfterS?: number;
  icon?: string;
}

export interface SensorDeviceEntities {
  /** Device name as used in topics (`<base>/<device>/state`). */
  device: string;
  /** Friendly prefix for the channel entity names; default the device name. */
  name?: string;
  channels: readonly SensorChannelEntity[];
}

export interface InputEntity {
  device: string;
  name?: string;
  /** Binary sensor device class: motion, door, window, occupancy, moisture... */
  deviceClass?: string;
  expireAfterS?: number;
  icon?: string;
}

export interface OutputEntity {
  device: string;
  name?: string;
  /** Announce as a switch (default) or as an on/off light. */
  as?: 'switch' | 'light';
  /** Switch device class: outlet or switch. Ignored for lights. */
  deviceClass?: 'outlet' | 'switch';
  icon?: string;
}

export interface GatewayEntities {
  sensors?: readonly SensorDeviceEntities[];
  inputs?: readonly InputEntity[];
  outputs?: readonly OutputEntity[];
}

export interface DiscoveryOptions {
  topics: TopicLayout;
  device: GatewayDeviceInfo;
  origin: OriginInfo;
  /** Also send the deprecated `object_id` for Home Assistant before 2025.10 (2025.10+ logs a deprecation warning). */
  legacyObjectId?: boolean;
  /** QoS HA uses for subscriptions and commands (default: HA's default, 0). */
  qos?: 0 | 1 | 2;
}

export type DiscoveryComponent = 'sensor' | 'binary_sensor' | 'switch' | 'light';

/** Discovery payload with Home Assistant's full key names. */
export type DiscoveryPayload = Record<string, unknown>;

export interface DiscoveryMessage {
  component: DiscoveryComponent;
  uniqueId: string;
  topic: string;
  payload: DiscoveryPayload;
  /** Discovery configs are always retained, so HA finds them after its own restart. */
  retain: true;
}

/** Empty retained payload on a config topic: HA removes the entity and the broker forgets the config. */
export interface DiscoveryRemoval {
  topic: string;
  payload: '';
  retain: true;
}
