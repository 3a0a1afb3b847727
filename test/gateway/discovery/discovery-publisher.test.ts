import { beforeEach, describe, expect, it } from 'vitest';
import { buildDiscoveryMessages } from '../../../src/gateway/discovery/build.js';
import { DiscoveryPublisher } from '../../../src/gateway/discovery/discovery-publisher.js';
import { TopicLayout } from '../../../src/gateway/topics.js';
import { silentLogger } from '../../../src/util/logger.js';
import { FakeBus, retainedMessage as retained } from '../../helpers/fake-bus.js';

const topics = new TopicLayout({ baseTopic: 'pi', gatewayId: 'gw', discoveryPrefix: 'homeassistant' });
const messages = buildDiscoveryMessages(
  { sensors: [{ device: 'climate', channels: [{ key: 'temperature', unit: '°C', deviceClass: 'temperature' }] }], outputs: [{ device: 'led' }] },
  { topics, device: { name: 'Pi', model: 'Pi 4', swVersion: '1' }, origin: { swVersion: '1' } },
);
const CURRENT = ['homeassistant/sensor/gw/climate_temperature/config', 'homeassistant/switch/gw/led/config'];

describe('DiscoveryPublisher', () => {
  let transport: FakeBus;
  let publisher: DiscoveryPublisher;

  beforeEach(() => {
    transport = new FakeBus();
    publisher = new DiscoveryPublisher(transport, topics, messages, 'homeassistant/status', silentLogger());
  });

  it('announces every entity, retained at QoS 1, with its JSON payload', async () => {
    await publisher.start();
    expect(transport.published.map((m) => m.topic).sort()).toEqual(CURRENT);
    for (const m of transport.published) expect(m).toMatchObject({ qos: 1, retain: true });
    const temperature = JSON.parse(String(transport.published.find((m) => m.topic === CURRENT[0])!.payload)) as Record<string, unknown>;
    expect(temperature).toMatchObject({ unique_id: 'gw_climate_temperature', device: { identifiers: ['gw'] } });
  });

  it('first clears (empty, retained) the configs this gateway announced before that are no longer configured', async () => {
    transport.retainedStore = [
      retained(CURRENT[0]!),
      retained('homeassistant/sensor/gw/light_illuminance/config'),
      retained('homeassistant/binary_sensor/gw/door/config'),
      retained('homeassistant/switch/gw/old/config', ''), // already removed: not again
    ];
    await publisher.start();
    expect(transport.retainedFilters).toEqual(['homeassistant/+/gw/+/config']);
    const removals = transport.published.filter((m) => m.payload === '');
    expect(removals.map((m) => m.topic)).toEqual(['homeassistant/sensor/gw/light_illuminance/config', 'homeassistant/binary_sensor/gw/door/config']);
    for (const m of removals) expect(m).toMatchObject({ retain: true, qos: 1 });
    // Removals come before the announcements.
    expect(transport.published.slice(0, 2)).toEqual(removals);
    expect(transport.published.slice(2).map((m) => m.topic).sort()).toEqual(CURRENT);
  });

  it('never removes what belongs to another node, even if the broker hands it over', async () => {
    transport.retainedStore = [retained('homeassistant/switch/other-gw/pump/config'), retained('homeassistant/switch/gw/pump/state')];
    await publisher.start();
    expect(transport.published.filter((m) => m.payload === '')).toEqual([]);
  });

  it('announces again when Home Assistant says online, and only then', async () => {
    await publisher.start();
    transport.published = [];
    await transport.deliver('homeassistant/status', 'offline');
    expect(transport.published).toEqual([]);
    await transport.deliver('homeassistant/status', ' online\n');
    expect(transport.published.map((m) => m.topic).sort()).toEqual(CURRENT);
    await publisher.stop();
    expect(transport.handlers.size).toBe(0);
  });

  it('a re-announcement that fails (broker stopping) is logged, not an unhandled rejection', async () => {
    await publisher.start();
    transport.failPublish = true;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await transport.deliver('homeassistant/status', 'online');
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});
