import { describe, expect, it } from 'vitest';
import { abbreviate, DEVICE_ABBREVIATIONS, encodeDiscoveryPayload, ENTITY_ABBREVIATIONS, ORIGIN_ABBREVIATIONS } from '../../../src/gateway/discovery/abbreviations.js';
import { buildDiscoveryMessages } from '../../../src/gateway/discovery/build.js';
import { TopicLayout } from '../../../src/gateway/topics.js';
import { HA_ABBREVIATIONS, HA_DEVICE_ABBREVIATIONS, HA_ORIGIN_ABBREVIATIONS, haExpand } from './fixtures/home-assistant.js';

const messages = buildDiscoveryMessages(
  {
    sensors: [{ device: 'bme280', channels: [{ key: 'temperature', unit: '°C', deviceClass: 'temperature', suggestedDisplayPrecision: 1, expireAfterS: 30, icon: 'mdi:thermometer' }] }],
    inputs: [{ device: 'pir', deviceClass: 'motion' }],
    outputs: [{ device: 'pump', deviceClass: 'outlet' }, { device: 'lamp', as: 'light' }],
  },
  {
    topics: new TopicLayout({ baseTopic: 'pi', gatewayId: 'gw', discoveryPrefix: 'homeassistant' }),
    device: { name: 'Pi', model: 'Raspberry Pi 5', swVersion: '1.0.0', hwVersion: 'rev 1.0', serialNumber: '10000000abcdef', configurationUrl: 'http://pi/', suggestedArea: 'Garage' },
    origin: { swVersion: '1.0.0', supportUrl: 'https://example.org/support' },
    legacyObjectId: true,
  },
);

describe('abbreviate', () => {
  it('uses the abbreviations Home Assistant declares', () => {
    for (const [full, short] of Object.entries(ENTITY_ABBREVIATIONS)) expect(HA_ABBREVIATIONS[short], full).toBe(full);
    for (const [full, short] of Object.entries(DEVICE_ABBREVIATIONS)) expect(HA_DEVICE_ABBREVIATIONS[short], full).toBe(full);
    for (const [full, short] of Object.entries(ORIGIN_ABBREVIATIONS)) expect(HA_ORIGIN_ABBREVIATIONS[short], full).toBe(full);
  });

  it('round-trips through HA expansion for every generated payload', () => {
    for (const m of messages) expect(haExpand(abbreviate(m.payload))).toEqual(m.payload);
  });

  it('leaves no key that HA could have abbreviated', () => {
    const abbreviatable = new Set(Object.entries(HA_ABBREVIATIONS).filter(([s, f]) => s !== f).map(([, f]) => f));
    const deviceAbbreviatable = new Set(Object.entries(HA_DEVICE_ABBREVIATIONS).filter(([s, f]) => s !== f).map(([, f]) => f));
    for (const m of messages) {
      const short = abbreviate(m.payload);
      for (const key of Object.keys(short)) expect(abbreviatable.has(key), key).toBe(false);
      for (const key of Object.keys(short.dev as object)) expect(deviceAbbreviatable.has(key), key).toBe(false);
      expect(short.o).toEqual({ name: 'pi-edge-gateway', sw: '1.0.0', url: 'https://example.org/support' });
      expect(short.avty).toEqual([
        { t: 'pi/status', pl_avail: 'online', pl_not_avail: 'offline' },
        { t: expect.stringMatching(/^pi\/\w+\/availability$/), pl_avail: 'online', pl_not_avail: 'offline' },
      ]);
    }
  });

  it('shrinks the encoded payload and keeps unknown keys', () => {
    const light = messages.find((m) => m.component === 'light')!;
    expect(encodeDiscoveryPayload(light.payload, { abbreviate: true }).length).toBeLessThan(encodeDiscoveryPayload(light.payload).length);
    expect(abbreviate(light.payload).schema).toBe('basic');
    expect(JSON.parse(encodeDiscoveryPayload(light.payload))).toEqual(light.payload);
  });

  it('does not mutate its input', () => {
    const payload = { state_topic: 'a', device: { model: 'x' } };
    abbreviate(payload);
    expect(payload).toEqual({ state_topic: 'a', device: { model: 'x' } });
  });
});
