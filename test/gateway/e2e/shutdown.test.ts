import { afterEach, describe, expect, it } from 'vitest';
import { subscribeAndLog, startGatewayUnderTest, type GatewayUnderTest } from '../../helpers/gateway.js';

let gw: GatewayUnderTest | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

describe('gateway end to end: graceful stop', () => {
  it('drives outputs to their fail-safe levels and says offline before the broker goes', async () => {
    gw = await startGatewayUnderTest(`sensors:
  - kind: bme280
    name: climate
    interval: 200ms
inputs:
  - name: button
    pin: 17
outputs:
  - name: led
    pin: 27
  - name: pump
    pin: 22
    active_low: true
    fail_safe: off
  - name: fan
    pin: 23
    fail_safe: on
  - name: heater
    pin: 24
    fail_safe: keep
`);
    const { client, log } = await subscribeAndLog(gw, gw.topic('#'));
    await log.waitOn(gw.topic('status'), (p) => p === 'online');
    await log.waitOn(gw.topic('climate/state'));
    await client.publishAsync(gw.topic('command'), '{"led":"on","pump":"on","heater":"on"}', { qos: 1 });
    await log.waitOn(gw.topic('command/response'));
    expect([27, 22, 23, 24].map((pin) => gw!.gpio.level(pin))).toEqual([1, 0, 0, 1]);

    const since = log.mark();
    await gw.stopGateway();
    // led off, pump off (high: active low), fan on, heater kept on.
    expect([27, 22, 23, 24].map((pin) => gw!.gpio.level(pin))).toEqual([0, 1, 1, 1]);
    await log.waitOn(gw.topic('status'), (p) => p === 'offline', { since, timeoutMs: 1000 });
    // Live messages only: a replay of retained messages for the wildcard subscription may still trickle in late.
    const after = log.after(since);
    for (const device of ['climate', 'button', 'led', 'pump', 'fan', 'heater']) {
      expect(after.some((m) => m.topic === gw!.topic(`${device}/availability`) && m.payload === 'offline'), device).toBe(true);
    }
    // The states of the fail-safe writes were published before the status went offline.
    const statusIndex = after.findIndex((m) => m.topic === gw!.topic('status'));
    const ledOff = after.findIndex((m) => m.topic === gw!.topic('led/state') && m.payload.includes('"OFF"'));
    expect(ledOff).toBeGreaterThanOrEqual(0);
    expect(ledOff).toBeLessThan(statusIndex);
    // Nothing after the last word.
    expect(after.slice(statusIndex + 1)).toEqual([]);
  });

  it('leaves offline retained as the last status for the next start to replace', async () => {
    // What the broker kept after stop is checked through its persistence in discovery.test.ts; here: the in-memory
    // retained store just before the broker closes holds `offline`.
    gw = await startGatewayUnderTest('');
    const { log } = await subscribeAndLog(gw, gw.topic('status'));
    expect((await log.waitOn(gw.topic('status'))).retain).toBe(true);
    await gw.running.gateway!.stop();
    const retained = await gw.running.broker.retained(gw.topic('status'));
    expect(retained.map((m) => m.payload.toString())).toEqual(['offline']);
  });
});
