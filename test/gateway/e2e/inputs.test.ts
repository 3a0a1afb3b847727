import { afterEach, describe, expect, it } from 'vitest';
import { settle } from '../../helpers/broker.js';
import { json, subscribeAndLog, startGatewayUnderTest, type GatewayUnderTest } from '../../helpers/gateway.js';

let gw: GatewayUnderTest | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

describe('gateway end to end: inputs', () => {
  it('publishes a debounced ON/OFF state when the button pin is driven', async () => {
    gw = await startGatewayUnderTest(`inputs:
  - name: button
    pin: 17
    pull: up
    active_low: true
    debounce: 50ms
  - name: door
    pin: 5
    pull: down
    payload_on: OPEN
    payload_off: CLOSED
`);
    const { log } = await subscribeAndLog(gw, [gw.topic('+/state'), gw.topic('+/availability')]);
    const state = (m: { payload: string }) => json(m).state;
    // At start: released (pulled up, active low → OFF), available.
    expect(state(await log.waitOn(gw.topic('button/state')))).toBe('OFF');
    expect(state(await log.waitOn(gw.topic('door/state')))).toBe('CLOSED');
    await log.waitOn(gw.topic('button/availability'), (p) => p === 'online');

    // A bouncy press: three raw changes inside the debounce time, one ON.
    let since = log.mark();
    gw.gpio.drive(17, 0);
    gw.gpio.drive(17, 1);
    gw.gpio.drive(17, 0);
    const pressed = await log.waitOn(gw.topic('button/state'), () => true, { since });
    expect(state(pressed)).toBe('ON');
    expect(json(pressed).time).toMatch(/Z$/);
    await settle(120);
    expect(log.on(gw.topic('button/state'), since).map(state)).toEqual(['ON']);

    // A glitch shorter than the debounce that ends where it started reports nothing.
    since = log.mark();
    gw.gpio.drive(17, 1);
    gw.gpio.drive(17, 0);
    await settle(120);
    expect(log.on(gw.topic('button/state'), since)).toEqual([]);

    since = log.mark();
    gw.gpio.drive(17, 1);
    expect(state(await log.waitOn(gw.topic('button/state'), () => true, { since }))).toBe('OFF');

    since = log.mark();
    gw.gpio.drive(5, 1);
    expect(state(await log.waitOn(gw.topic('door/state'), () => true, { since }))).toBe('OPEN');
  });
});
