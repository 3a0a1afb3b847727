import { afterEach, describe, expect, it } from 'vitest';
import { json, subscribeAndLog, startGatewayUnderTest, type GatewayUnderTest } from '../../helpers/gateway.js';

let gw: GatewayUnderTest | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('gateway end to end: sensor readings', () => {
  it('publishes filtered readings with units and an ISO time, retained, at QoS 1', async () => {
    gw = await startGatewayUnderTest(
      `sensors:
  - kind: bme280
    name: climate
    interval: 250ms
    filters:
      temperature: [{ offset: -1.5 }, { round: 1 }]
      pressure: [{ round: 1 }]
      humidity: [{ round: 0 }]
`,
      // Fixed values away from rounding boundaries: the published value is exact despite the ADC's resolution.
      { prepare: (sim) => sim.chips.bme280.set({ temperature: 23.43, pressure: 1001.27, humidity: 40.2 }) },
    );
    const { log } = await subscribeAndLog(gw, gw.topic('climate/state'));
    const first = await log.waitOn(gw.topic('climate/state'));
    expect(first.qos).toBe(1);
    const state = json(first);
    expect(state).toMatchObject({ temperature: 21.9, pressure: 1001.3, humidity: 40, units: { temperature: '°C', pressure: 'hPa', humidity: '%' } });
    expect(state.time).toMatch(ISO);
    expect(Math.abs(Date.parse(state.time as string) - Date.now())).toBeLessThan(2000);

    // The room changes: the next readings follow, through the same filters.
    const since = log.mark();
    gw.sim.chips.bme280.set({ temperature: 18.04 });
    const later = await log.waitOn(gw.topic('climate/state'), (p) => (JSON.parse(p) as { temperature: number }).temperature === 16.5, { since });
    expect(later.qos).toBe(1);

    // Retained: a client that subscribes afterwards gets the last state at once.
    const { log: lateLog } = await subscribeAndLog(gw, gw.topic('climate/state'));
    const retained = await lateLog.waitOn(gw.topic('climate/state'));
    expect(retained.retain).toBe(true);
    expect(json(retained)).toMatchObject({ units: { temperature: '°C' } });
  });

  it('follows a drifting room within the resolution, and sensors publish independently', async () => {
    gw = await startGatewayUnderTest(`sensors:
  - kind: sht3x
    name: air
    interval: 200ms
    filters:
      temperature: [{ offset: 2 }, { round: 2 }]
  - kind: bh1750
    name: light
    interval: 300ms
`);
    const { log } = await subscribeAndLog(gw, [gw.topic('air/state'), gw.topic('light/state')]);
    const air = await log.waitOn(gw.topic('air/state'));
    const light = await log.waitOn(gw.topic('light/state'));
    // The drifting room, at the time of the reading, through the filter: SHT3x resolution is 175/65535 °C.
    const room = gw.sim.room.temperature.at(Date.parse(json(air).time as string));
    expect(Math.abs((json(air).temperature as number) - (room + 2))).toBeLessThan(0.05);
    expect(json(light)).toMatchObject({ units: { illuminance: 'lx' } });
    expect(json(light).illuminance).toBeGreaterThanOrEqual(0);
  });
});
