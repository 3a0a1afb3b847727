export { abbreviate, DEVICE_ABBREVIATIONS, encodeDiscoveryPayload, ENTITY_ABBREVIATIONS, ORIGIN_ABBREVIATIONS } from './abbreviations.js';
export {
  buildDiscoveryMessages,
  DEFAULT_MANUFACTURER,
  defaultEntityId,
  defaultStateClass,
  DiscoveryBuilder,
  DiscoveryError,
  expireAfterSeconds,
  ORIGIN_NAME,
  PAYLOAD_AVAILABLE,
  PAYLOAD_NOT_AVAILABLE,
  PAYLOAD_OFF,
  PAYLOAD_ON,
  valueTemplate,
} from './build.js';
export { discoveryRemovals } from './removal.js';
export type {
  DiscoveryComponent,
  DiscoveryMessage,
  DiscoveryOptions,
  DiscoveryPayload,
  DiscoveryRemoval,
  GatewayDeviceInfo,
  GatewayEntities,
  InputEntity,
  OriginInfo,
  OutputEntity,
  SensorChannelEntity,
  SensorDeviceEntities,
  SensorStateClass,
} from './types.js';
