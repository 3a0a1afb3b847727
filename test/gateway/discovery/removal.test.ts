import { describe, expect, it } from 'vitest';
import { buildDiscoveryMessages } from '../../../src/gateway/discovery/build.js';
import { discoveryRemovals } from '../../../src/gateway/discovery/removal.js';
import { TopicLayout } from '../../../src/gateway/topics.js';

const topics = new TopicLayout({ baseTopic: 'pi', gatewayId: 'gw', discoveryPrefix: 'homeassistant' });
const options = { topics, device: { name: 'Pi', model: 'Raspberry Pi 4 Model B', swVersion: '1' }, origin: { swVersion: '1' } };

describe('discoveryRemovals', () => {
  it('clears the retained configs of entities that left the configuration', () => {
    const before = buildDiscoveryMessages({ outputs: [{ device: 'pump' }, { device: 'lamp' }], inputs: [{ device: 'door' }] }, options);
    // lamp is now announced as a light, door was removed.
    const now = buildDiscoveryMessages({ outputs: [{ device: 'pump' }, { device: 'lamp', as: 'light' }] }, options);
    expect(discoveryRemovals(before.map((m) => m.topic), now, topics)).toEqual([
      { topic: 'homeassistant/binary_sensor/gw/door/config', payload: '', retain: true },
      { topic: 'homeassistant/switch/gw/lamp/config', payload: '', retain: true },
    ]);
  });

  it('never touches other nodes or non-config topics, and removes each topic once', () => {
    const removals = discoveryRemovals(
      ['homeassistant/switch/other/pump/config', 'homeassistant/switch/gw/pump/state', 'zigbee2mqtt/x', 'homeassistant/switch/gw/old/config', 'homeassistant/switch/gw/old/config'],
      [],
      topics,
    );
    expect(removals.map((r) => r.topic)).toEqual(['homeassistant/switch/gw/old/config']);
  });

  it('removes nothing when nothing changed', () => {
    const current = buildDiscoveryMessages({ outputs: [{ device: 'pump' }] }, options);
    expect(discoveryRemovals(current.map((m) => m.topic), current, topics)).toEqual([]);
  });
});
