import { afterEach, describe, expect, it } from 'vitest';
import { settle } from '../../helpers/broker.js';
import { TEST_GATEWAY_ID, json, subscribeAndLog, startGatewayUnderTest, type GatewayUnderTest } from '../../helpers/gateway.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

let gw: GatewayUnderTest | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const SENSORS = `  - kind: bme280
    name: climate
    friendly_name: Living room
    interval: 5s
`;
const LIGHT = `  - kind: bh1750
    name: light
    interval: 5s
`;
const DEVICES = `inputs:
  - name: button
    pin: 17
    device_class: occupancy
outputs:
  - name: led
    pin: 27
    component: light
  - name: relay
    pin: 22
`;

const config = (component: string, object: string) => `homeassistant/${component}/${TEST_GATEWAY_ID}/${object}/config`;
const ALL = [
  config('sensor', 'climate_temperature'),
  config('sensor', 'climate_pressure'),
  config('sensor', 'climate_humidity'),
  config('sensor', 'light_illuminance'),
  config('binary_sensor', 'button'),
  config('light', 'led'),
  config('switch', 'relay'),
].sort();

const topicsOf = (messages: { topic: string; payload: string }[]) => [...new Set(messages.filter((m) => m.payload !== '').map((m) => m.topic))].sort();

describe('gateway end to end: Home Assistant discovery', () => {
  it('announces every configured entity (retained, with device, origin and availability) and again when HA comes online', async () => {
    gw = await startGatewayUnderTest(`sensors:\n${SENSORS}${LIGHT}${DEVICES}`);
    const { client, log } = await subscribeAndLog(gw, 'homeassistant/#');
    await log.waitFor(() => topicsOf(log.messages).length === ALL.length, { what: 'all discovery configs' });
    await settle(100);
    expect(topicsOf(log.messages)).toEqual(ALL);
    expect(log.messages.every((m) => m.retain)).toBe(true);

    const temperature = json(log.on(config('sensor', 'climate_temperature'))[0]!);
    expect(temperature).toMatchObject({
      unique_id: `${TEST_GATEWAY_ID}_climate_temperature`,
      state_topic: gw.topic('climate/state'),
      unit_of_measurement: '°C',
      device_class: 'temperature',
      device: { identifiers: [TEST_GATEWAY_ID], name: 'Test Pi', model: 'simulated Raspberry Pi', sw_version: '0.0.0-test' },
      origin: { sw_version: '0.0.0-test' },
      availability_mode: 'all',
    });
    expect((temperature.origin as { name?: string }).name).toBeTruthy();
    expect((temperature.availability as { topic: string }[]).map((a) => a.topic)).toEqual([gw.topic('status'), gw.topic('climate/availability')]);
    for (const topic of ALL) {
      const payload = json(log.on(topic)[0]!);
      expect(payload, topic).toHaveProperty('device.identifiers', [TEST_GATEWAY_ID]);
      expect(payload, topic).toHaveProperty('origin');
      expect(payload, topic).toHaveProperty('availability');
    }
    expect(json(log.on(config('switch', 'relay'))[0]!)).toMatchObject({ command_topic: gw.topic('relay/set') });
    expect(json(log.on(config('binary_sensor', 'button'))[0]!)).toMatchObject({ device_class: 'occupancy', state_topic: gw.topic('button/state') });

    // Home Assistant restarts: everything is announced again.
    const since = log.mark();
    await client.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await log.waitFor(() => topicsOf(log.after(since).filter((m) => m.topic !== 'homeassistant/status')).length === ALL.length, {
      what: 'a second announcement',
    });
    // Anything else on the status topic is not a reason to announce.
    const quiet = log.mark();
    await client.publishAsync('homeassistant/status', 'offline', { qos: 1 });
    await settle(200);
    expect(log.after(quiet).filter((m) => m.topic !== 'homeassistant/status')).toEqual([]);
  });

  it('removes the entities of a device that left the config between two starts (same persistence)', async () => {
    const temp = await makeTempDir('pi-edge-discovery-');
    cleanups.push(temp.remove);
    const options = { persistence: true, stateDir: temp.dir };

    gw = await startGatewayUnderTest(`sensors:\n${SENSORS}${LIGHT}${DEVICES}`, options);
    const first = await subscribeAndLog(gw, 'homeassistant/+/test-pi/+/config');
    await first.log.waitFor(() => topicsOf(first.log.messages).length === ALL.length, { what: 'all discovery configs' });
    await first.client.subscribeAsync(gw.topic('light/state'), { qos: 1 });
    await first.log.waitOn(gw.topic('light/state'));
    await gw.stop();

    // Restart without the light sensor and the relay.
    gw = await startGatewayUnderTest(`sensors:\n${SENSORS}${DEVICES.replace('  - name: relay\n    pin: 22\n', '')}`, options);
    const second = await subscribeAndLog(gw, ['homeassistant/+/test-pi/+/config', gw.topic('+/state')]);
    // The retained messages replayed now are what Home Assistant would see: the persisted old configs minus the removed.
    await second.log.waitOn(gw.topic('led/state'));
    await settle(200);
    const expected = ALL.filter((t) => t !== config('sensor', 'light_illuminance') && t !== config('switch', 'relay'));
    expect(topicsOf(second.log.messages.filter((m) => m.topic.startsWith('homeassistant/')))).toEqual(expected);
    // The retained store itself has no config for them any more (an empty retained message deletes it).
    const retained = await gw.running.broker.retained('homeassistant/#');
    expect(retained.map((m) => m.topic).sort()).toEqual(expected);
    // ...while the persistence did carry the first run's retained messages over (or this test would prove nothing).
    expect((await gw.running.broker.retained(gw.topic('light/state'))).length).toBe(1);
  });
});
