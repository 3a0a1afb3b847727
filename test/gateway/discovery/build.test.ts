import { describe, expect, it } from 'vitest';
import { buildDiscoveryMessages, DiscoveryError, defaultEntityId, defaultStateClass, expireAfterSeconds, valueTemplate } from '../../../src/gateway/discovery/build.js';
import type { DiscoveryMessage, DiscoveryOptions, GatewayEntities } from '../../../src/gateway/discovery/types.js';
import { TopicLayout } from '../../../src/gateway/topics.js';
import {
  HA_BINARY_SENSOR_DEVICE_CLASSES,
  HA_DEVICE_CLASS_STATE_CLASSES,
  HA_DEVICE_CLASS_UNITS,
  HA_DISCOVERY_TOPIC,
  HA_SWITCH_DEVICE_CLASSES,
  HA_VALID_ENTITY_ID,
} from './fixtures/home-assistant.js';

const topics = new TopicLayout({ baseTopic: 'pi-edge/greenhouse', gatewayId: 'gh1', discoveryPrefix: 'homeassistant' });
const options: DiscoveryOptions = {
  topics,
  device: { name: 'Greenhouse Pi', model: 'Raspberry Pi 4 Model B', swVersion: '0.1.0', configurationUrl: 'http://gh1.local:8080/' },
  origin: { swVersion: '0.1.0', supportUrl: 'https://github.com/example/pi-edge-gateway' },
};

const entities: GatewayEntities = {
  sensors: [
    {
      device: 'bme280',
      name: 'BME280',
      channels: [
        { key: 'temperature', unit: '°C', deviceClass: 'temperature', suggestedDisplayPrecision: 1, expireAfterS: 90 },
        { key: 'humidity', unit: '%', deviceClass: 'humidity' },
        { key: 'pressure', unit: 'hPa', deviceClass: 'atmospheric_pressure' },
      ],
    },
    { device: 'bh1750', channels: [{ key: 'illuminance', unit: 'lx', deviceClass: 'illuminance' }] },
    { device: 'ads1115', channels: [{ key: 'voltage_0', unit: 'V', deviceClass: 'voltage', name: 'Soil probe voltage' }] },
  ],
  inputs: [
    { device: 'pir', name: 'Motion', deviceClass: 'motion' },
    { device: 'door', deviceClass: 'door' },
  ],
  outputs: [
    { device: 'pump', name: 'Pump', deviceClass: 'outlet' },
    { device: 'grow_light', name: 'Grow light', as: 'light' },
  ],
};

const messages = buildDiscoveryMessages(entities, options);
const byId = (uniqueId: string): DiscoveryMessage => {
  const found = messages.find((m) => m.uniqueId === uniqueId);
  if (!found) throw new Error(`no message ${uniqueId}`);
  return found;
};

describe('discovery messages', () => {
  it('announces one entity per channel, input and output', () => {
    expect(messages.map((m) => `${m.component}:${m.uniqueId}`)).toEqual([
      'sensor:gh1_bme280_temperature',
      'sensor:gh1_bme280_humidity',
      'sensor:gh1_bme280_pressure',
      'sensor:gh1_bh1750_illuminance',
      'sensor:gh1_ads1115_voltage_0',
      'binary_sensor:gh1_pir',
      'binary_sensor:gh1_door',
      'switch:gh1_pump',
      'light:gh1_grow_light',
    ]);
    for (const m of messages) expect(m.retain).toBe(true);
  });

  it('builds a complete sensor payload', () => {
    const m = byId('gh1_bme280_temperature');
    expect(m.topic).toBe('homeassistant/sensor/gh1/bme280_temperature/config');
    expect(m.payload).toEqual({
      name: 'BME280 Temperature',
      unique_id: 'gh1_bme280_temperature',
      default_entity_id: 'sensor.gh1_bme280_temperature',
      availability: [
        { topic: 'pi-edge/greenhouse/status', payload_available: 'online', payload_not_available: 'offline' },
        { topic: 'pi-edge/greenhouse/bme280/availability', payload_available: 'online', payload_not_available: 'offline' },
      ],
      availability_mode: 'all',
      device: {
        identifiers: ['gh1'],
        name: 'Greenhouse Pi',
        manufacturer: 'Raspberry Pi Ltd',
        model: 'Raspberry Pi 4 Model B',
        sw_version: '0.1.0',
        configuration_url: 'http://gh1.local:8080/',
      },
      origin: { name: 'pi-edge-gateway', sw_version: '0.1.0', support_url: 'https://github.com/example/pi-edge-gateway' },
      state_topic: 'pi-edge/greenhouse/bme280/state',
      value_template: '{{ value_json.temperature }}',
      device_class: 'temperature',
      unit_of_measurement: '°C',
      state_class: 'measurement',
      suggested_display_precision: 1,
      expire_after: 90,
    });
    expect(byId('gh1_ads1115_voltage_0').payload.name).toBe('Soil probe voltage');
    expect(byId('gh1_bh1750_illuminance').payload.name).toBe('bh1750 Illuminance');
  });

  it('builds binary sensors reading {"state":"ON"|"OFF"}', () => {
    expect(byId('gh1_pir')).toMatchObject({
      topic: 'homeassistant/binary_sensor/gh1/pir/config',
      payload: {
        name: 'Motion',
        state_topic: 'pi-edge/greenhouse/pir/state',
        value_template: '{{ value_json.state }}',
        payload_on: 'ON',
        payload_off: 'OFF',
        device_class: 'motion',
      },
    });
  });

  it('builds a switch and a basic-schema light commanding the set topic with ON/OFF', () => {
    const sw = byId('gh1_pump').payload;
    expect(sw).toMatchObject({
      command_topic: 'pi-edge/greenhouse/pump/set',
      state_topic: 'pi-edge/greenhouse/pump/state',
      value_template: '{{ value_json.state }}',
      payload_on: 'ON',
      payload_off: 'OFF',
      optimistic: false,
      device_class: 'outlet',
      default_entity_id: 'switch.gh1_pump',
    });
    const light = byId('gh1_grow_light').payload;
    expect(light).toMatchObject({
      schema: 'basic',
      command_topic: 'pi-edge/greenhouse/grow_light/set',
      state_topic: 'pi-edge/greenhouse/grow_light/state',
      state_value_template: '{{ value_json.state }}',
      payload_on: 'ON',
      payload_off: 'OFF',
      optimistic: false,
      default_entity_id: 'light.gh1_grow_light',
    });
    expect(light).not.toHaveProperty('value_template');
    expect(light).not.toHaveProperty('device_class');
  });

  it('shares one device block across all entities', () => {
    const first = JSON.stringify(messages[0]!.payload.device);
    for (const m of messages) expect(JSON.stringify(m.payload.device)).toBe(first);
  });

  it('can add the legacy object_id and a qos', () => {
    const [m] = buildDiscoveryMessages({ outputs: [{ device: 'pump' }] }, { ...options, legacyObjectId: true, qos: 1 });
    expect(m!.payload).toMatchObject({ object_id: 'gh1_pump', default_entity_id: 'switch.gh1_pump', qos: 1 });
  });

  it('maps odd names onto valid ids and keys', () => {
    const [m] = buildDiscoveryMessages({ sensors: [{ device: 'ds18b20.Tank-1', channels: [{ key: 'temp-c', unit: '°C', deviceClass: 'temperature' }] }] }, options);
    expect(m!.topic).toBe('homeassistant/sensor/gh1/ds18b20_Tank-1_temp-c/config');
    expect(m!.payload.default_entity_id).toBe('sensor.gh1_ds18b20_tank_1_temp_c');
    expect(m!.payload.value_template).toBe("{{ value_json['temp-c'] }}");
    expect(m!.payload.state_topic).toBe('pi-edge/greenhouse/ds18b20.Tank-1/state');
  });

  it('refuses names that collide after mapping, or are not topic-safe', () => {
    expect(() => buildDiscoveryMessages({ outputs: [{ device: 'pump.1' }, { device: 'pump_1' }] }, options)).toThrow(DiscoveryError);
    expect(() => buildDiscoveryMessages({ outputs: [{ device: 'pump.1' }, { device: 'pump_1' }] }, options)).toThrow(/same unique id "gh1_pump_1"/);
    expect(() => buildDiscoveryMessages({ outputs: [{ device: 'a/b' }] }, options)).toThrow(/must not contain '\/'/);
    expect(() => buildDiscoveryMessages({ inputs: [{ device: '...' }] }, options)).toThrow(/no letters or digits/);
  });
});

describe('payloads satisfy Home Assistant schemas', () => {
  it('every topic matches the discovery topic pattern', () => {
    for (const m of messages) {
      expect(m.topic.startsWith('homeassistant/')).toBe(true);
      const match = HA_DISCOVERY_TOPIC.exec(m.topic.slice('homeassistant/'.length));
      expect(match?.groups).toEqual({ component: m.component, node: 'gh1', object: m.uniqueId.slice('gh1_'.length) });
    }
  });

  it('every default_entity_id is a valid entity id of the right domain', () => {
    for (const m of messages) {
      const id = m.payload.default_entity_id as string;
      expect(id).toMatch(HA_VALID_ENTITY_ID);
      expect(id.startsWith(`${m.component}.`)).toBe(true);
    }
  });

  it('sensor units and state classes are allowed for their device class', () => {
    for (const m of messages.filter((x) => x.component === 'sensor')) {
      const deviceClass = m.payload.device_class as string;
      expect(HA_DEVICE_CLASS_UNITS[deviceClass], `fixture lacks ${deviceClass}`).toBeDefined();
      expect(HA_DEVICE_CLASS_UNITS[deviceClass]).toContain(m.payload.unit_of_measurement);
      expect(HA_DEVICE_CLASS_STATE_CLASSES[deviceClass]).toContain(m.payload.state_class);
    }
  });

  it('binary sensor and switch device classes are known to HA', () => {
    for (const m of messages) {
      if (m.component === 'binary_sensor') expect(HA_BINARY_SENSOR_DEVICE_CLASSES).toContain(m.payload.device_class);
      if (m.component === 'switch' && m.payload.device_class !== undefined) expect(HA_SWITCH_DEVICE_CLASSES).toContain(m.payload.device_class);
    }
  });

  it('the fixture catches a wrong unit', () => {
    expect(HA_DEVICE_CLASS_UNITS.temperature).not.toContain('C');
    expect(HA_DEVICE_CLASS_UNITS.pressure).not.toContain('Pa ');
    expect(HA_DEVICE_CLASS_UNITS.illuminance).not.toContain('lux');
  });

  it('default state classes agree with HA for the device classes the fixture knows', () => {
    for (const [deviceClass, allowed] of Object.entries(HA_DEVICE_CLASS_STATE_CLASSES)) {
      expect(allowed).toContain(defaultStateClass(deviceClass));
    }
    expect(defaultStateClass(undefined)).toBe('measurement');
    expect(defaultStateClass('timestamp')).toBeNull();
  });
});

describe('helpers', () => {
  it('expireAfterSeconds multiplies the longest publish gap', () => {
    expect(expireAfterSeconds(30_000)).toBe(90);
    expect(expireAfterSeconds(10_500, 2)).toBe(21);
    expect(expireAfterSeconds(undefined)).toBeUndefined();
    expect(expireAfterSeconds(0)).toBeUndefined();
  });

  it('valueTemplate and defaultEntityId', () => {
    expect(valueTemplate('voltage_0')).toBe('{{ value_json.voltage_0 }}');
    expect(valueTemplate('0v')).toBe("{{ value_json['0v'] }}");
    expect(defaultEntityId('sensor', '__A--b__')).toBe('sensor.a_b');
  });
});
