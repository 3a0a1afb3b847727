import { afterEach, describe, expect, it } from 'vitest';
import { subscribeAndLog, startGatewayUnderTest, type GatewayUnderTest } from '../../helpers/gateway.js';

let gw: GatewayUnderTest | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

describe('gateway end to end: sensor faults', () => {
  it('marks a sensor that NACKs forever offline after offline_after reads, the others keep publishing, and it recovers', async () => {
    gw = await startGatewayUnderTest(`sensors:
  - kind: bme280
    name: climate
    interval: 200ms
    retries: 0
    offline_after: 3
  - kind: bh1750
    name: light
    interval: 200ms
`);
    const { log } = await subscribeAndLog(gw, [gw.topic('+/availability'), gw.topic('+/state')]);
    await log.waitOn(gw.topic('climate/availability'), (p) => p === 'online');
    await log.waitOn(gw.topic('climate/state'));

    const faulted = log.mark();
    const injectedAt = Date.now();
    gw.sim.chips.bme280.inject({ kind: 'nack', count: Infinity });
    const offline = await log.waitOn(gw.topic('climate/availability'), (p) => p === 'offline', { since: faulted });
    const counters = gw.running.gateway!.sensorCounters().climate!;
    expect(counters.online).toBe(false);
    expect(counters.consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(counters.lastError).toMatch(/EREMOTEIO|NACK|nack/i);
    // Three failed reads at 200 ms take at least ~400 ms: not offline at the first failure.
    expect(offline.at - injectedAt).toBeGreaterThanOrEqual(300);

    // The other sensor is not held back.
    const afterOffline = log.messages.indexOf(offline) + 1;
    await log.waitOn(gw.topic('light/state'), () => true, { since: afterOffline });
    await log.waitOn(gw.topic('light/state'), () => true, { since: log.mark() });
    expect(log.on(gw.topic('climate/state'), afterOffline)).toEqual([]);
    // Retained: what a dashboard connecting now sees.
    const { log: late } = await subscribeAndLog(gw, gw.topic('climate/availability'));
    expect(await late.waitOn(gw.topic('climate/availability'))).toMatchObject({ payload: 'offline', retain: true });

    const cleared = log.mark();
    gw.sim.chips.bme280.faults.clear();
    await log.waitOn(gw.topic('climate/availability'), (p) => p === 'online', { since: cleared });
    await log.waitOn(gw.topic('climate/state'), () => true, { since: cleared });
    expect(gw.running.gateway!.sensorCounters().climate).toMatchObject({ online: true, consecutiveFailures: 0 });
  });

  it('copes with a chip unplugged and plugged back (reopened on recovery)', async () => {
    gw = await startGatewayUnderTest(`sensors:
  - kind: sht3x
    name: air
    interval: 200ms
    retries: 1
    offline_after: 1
  - kind: bme280
    name: climate
    interval: 250ms
`);
    const { log } = await subscribeAndLog(gw, [gw.topic('+/availability'), gw.topic('+/state')]);
    await log.waitOn(gw.topic('air/state'));

    const unplugged = log.mark();
    gw.sim.chips.sht3x.disconnect();
    const offline = await log.waitOn(gw.topic('air/availability'), (p) => p === 'offline', { since: unplugged });
    await log.waitOn(gw.topic('climate/state'), () => true, { since: log.messages.indexOf(offline) + 1 });

    const replugged = log.mark();
    gw.sim.chips.sht3x.reconnect();
    await log.waitOn(gw.topic('air/availability'), (p) => p === 'online', { since: replugged });
    const state = await log.waitOn(gw.topic('air/state'), () => true, { since: replugged });
    expect(JSON.parse(state.payload)).toHaveProperty('temperature');
    expect(log.on(gw.topic('climate/availability'), unplugged).map((m) => m.payload)).not.toContain('offline');
  });
});
