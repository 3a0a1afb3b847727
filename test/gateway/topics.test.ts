import { describe, expect, it } from 'vitest';
import { TopicError, TopicLayout, assertTopicLevel, toDiscoveryId } from '../../src/gateway/topics.js';

const layout = new TopicLayout({ baseTopic: 'pi-edge/greenhouse', gatewayId: 'gh1', discoveryPrefix: 'homeassistant' });

describe('TopicLayout', () => {
  it('lays out gateway, device, command and discovery topics', () => {
    expect(layout.gatewayStatus()).toBe('pi-edge/greenhouse/status');
    expect(layout.state('bme280')).toBe('pi-edge/greenhouse/bme280/state');
    expect(layout.set('relay')).toBe('pi-edge/greenhouse/relay/set');
    expect(layout.availability('relay')).toBe('pi-edge/greenhouse/relay/availability');
    expect(layout.command()).toBe('pi-edge/greenhouse/command');
    expect(layout.response()).toBe('pi-edge/greenhouse/command/response');
    expect(layout.discoveryConfig('sensor', 'gh1', 'bme280_temperature')).toBe('homeassistant/sensor/gh1/bme280_temperature/config');
    expect(layout.setWildcard()).toBe('pi-edge/greenhouse/+/set');
    expect(layout.ownDiscoveryWildcard()).toBe('homeassistant/+/gh1/+/config');
  });

  it('derives the gateway id from the last level of the base topic', () => {
    expect(new TopicLayout({ baseTopic: 'home/pi.kitchen', discoveryPrefix: 'ha' }).gatewayId).toBe('pi_kitchen');
    expect(() => new TopicLayout({ baseTopic: 'home/...', discoveryPrefix: 'ha' })).toThrow(/gateway id/);
  });

  it.each([
    ['', /must not be empty/],
    ['a/b', /must not contain '\/'/],
    ['led+', /wildcards/],
    ['#', /wildcards/],
    ['a\u0000b', /NUL/],
    [' led', /whitespace/],
  ])('refuses device name %j with a clear error', (name, message) => {
    expect(() => layout.state(name)).toThrow(TopicError);
    expect(() => layout.set(name)).toThrow(message);
  });

  it('names the offending value in the error', () => {
    try {
      assertTopicLevel('bad/name');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TopicError);
      expect((error as TopicError).message).toBe(`invalid device name "bad/name": must not contain '/' (it would add a topic level)`);
      expect((error as TopicError).value).toBe('bad/name');
    }
  });

  it.each(['', '/pi', 'pi/', 'pi//x', 'pi/+/x', '$SYS/x'])('refuses base topic %j', (baseTopic) => {
    expect(() => new TopicLayout({ baseTopic, gatewayId: 'g', discoveryPrefix: 'homeassistant' })).toThrow(TopicError);
  });

  it('refuses discovery ids outside [a-zA-Z0-9_-]', () => {
    expect(() => layout.discoveryConfig('sensor', 'gh1', 'bme.280')).toThrow(/discovery object id/);
    expect(() => layout.discoveryConfig('sensor', 'g h', 'x')).toThrow(/discovery node id/);
    expect(() => layout.discoveryConfig('Sensor', 'gh1', 'x')).toThrow(/component/);
    expect(() => new TopicLayout({ baseTopic: 'x', gatewayId: 'a/b', discoveryPrefix: 'homeassistant' })).toThrow(/gateway id/);
  });

  it('extracts the device from a set topic and nothing else', () => {
    expect(layout.deviceFromSetTopic('pi-edge/greenhouse/relay/set')).toBe('relay');
    expect(layout.deviceFromSetTopic('pi-edge/greenhouse/relay/state')).toBeUndefined();
    expect(layout.deviceFromSetTopic('pi-edge/greenhouse/a/b/set')).toBeUndefined();
    expect(layout.deviceFromSetTopic('pi-edge/other/relay/set')).toBeUndefined();
    expect(layout.deviceFromSetTopic('pi-edge/greenhouse//set')).toBeUndefined();
  });

  it('recognises its own discovery topics only', () => {
    expect(layout.isOwnDiscoveryTopic('homeassistant/switch/gh1/relay/config')).toBe(true);
    expect(layout.isOwnDiscoveryTopic('homeassistant/switch/other/relay/config')).toBe(false);
    expect(layout.isOwnDiscoveryTopic('homeassistant/switch/gh1/relay/state')).toBe(false);
    expect(layout.isOwnDiscoveryTopic('homeassistant/switch/gh1/config')).toBe(false);
    expect(layout.isOwnDiscoveryTopic('other/switch/gh1/relay/config')).toBe(false);
  });

  it('maps names onto the discovery id alphabet', () => {
    expect(toDiscoveryId('temp.sensor #1')).toBe('temp_sensor_1');
    expect(toDiscoveryId('---')).toBe('---');
    expect(toDiscoveryId('...')).toBeUndefined();
  });
});
