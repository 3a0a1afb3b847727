import { afterEach, describe, expect, it } from 'vitest';
import { json, subscribeAndLog, startGatewayUnderTest, type GatewayUnderTest } from '../../helpers/gateway.js';

let gw: GatewayUnderTest | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

const OUTPUTS = `outputs:
  - name: led
    pin: 27
  - name: relay
    pin: 22
    active_low: true
`;

const stateIs = (expected: 'ON' | 'OFF') => (payload: string) => (JSON.parse(payload) as { state: string }).state === expected;

describe('gateway end to end: commands to outputs', () => {
  it('drives the pins from <base>/command and the set topics, with retained states', async () => {
    gw = await startGatewayUnderTest(OUTPUTS);
    const { client, log } = await subscribeAndLog(gw, [gw.topic('+/state'), gw.topic('command/response')]);
    // Initial states: off; the active-low relay is held high electrically.
    await log.waitOn(gw.topic('led/state'), stateIs('OFF'));
    expect(gw.gpio.level(27)).toBe(0);
    expect(gw.gpio.level(22)).toBe(1);

    let since = log.mark();
    await client.publishAsync(gw.topic('command'), '{"led":"on","relay":"on","id":"c1"}', { qos: 1 });
    const response = await log.waitOn(gw.topic('command/response'), () => true, { since });
    expect(json(response)).toMatchObject({ ok: true, id: 'c1', outputs: { led: 'ON', relay: 'ON' }, topic: gw.topic('command') });
    await log.waitOn(gw.topic('led/state'), stateIs('ON'), { since });
    await log.waitOn(gw.topic('relay/state'), stateIs('ON'), { since });
    expect(gw.gpio.level(27)).toBe(1);
    expect(gw.gpio.level(22)).toBe(0); // active low: ON is a low level

    // Retained output state for a late subscriber.
    const { log: late } = await subscribeAndLog(gw, gw.topic('led/state'));
    const retained = await late.waitOn(gw.topic('led/state'));
    expect(retained.retain).toBe(true);
    expect(json(retained).state).toBe('ON');

    for (const [payload, expected, level] of [
      ['OFF', 'OFF', 0],
      ['TOGGLE', 'ON', 1],
      ['TOGGLE', 'OFF', 0],
      ['ON', 'ON', 1],
    ] as const) {
      since = log.mark();
      await client.publishAsync(gw.topic('led/set'), payload, { qos: 1 });
      await log.waitOn(gw.topic('led/state'), stateIs(expected), { since });
      expect(gw.gpio.level(27), `after ${payload}`).toBe(level);
    }
  });

  it('reverts a timed command after its duration', async () => {
    gw = await startGatewayUnderTest(OUTPUTS);
    const { client, log } = await subscribeAndLog(gw, gw.topic('+/state'));
    await log.waitOn(gw.topic('relay/state'), stateIs('OFF'));
    const since = log.mark();
    const sent = Date.now();
    await client.publishAsync(gw.topic('relay/set'), '{"state":"ON","duration":0.3}', { qos: 1 });
    const on = await log.waitOn(gw.topic('relay/state'), stateIs('ON'), { since });
    expect(gw.gpio.level(22)).toBe(0);
    const off = await log.waitOn(gw.topic('relay/state'), stateIs('OFF'), { since: log.messages.indexOf(on) + 1 });
    expect(off.at - sent).toBeGreaterThanOrEqual(250);
    expect(off.at - sent).toBeLessThan(1500);
    expect(gw.gpio.level(22)).toBe(1);
    // The pin history shows exactly the pulse: high (off, initial) → low (on) → high (off).
    expect(gw.gpio.history(22).map((c) => c.level)).toEqual([1, 0, 1]);
  });

  it('answers bad commands with ok:false and the reason, and keeps working', async () => {
    gw = await startGatewayUnderTest(OUTPUTS);
    const { client, log } = await subscribeAndLog(gw, [gw.topic('command/response'), gw.topic('led/state')]);
    const ask = async (topic: string, payload: string) => {
      const since = log.mark();
      await client.publishAsync(topic, payload, { qos: 1 });
      return json(await log.waitOn(gw!.topic('command/response'), () => true, { since }));
    };

    const malformed = await ask(gw.topic('command'), '{"led": on');
    expect(malformed).toMatchObject({ ok: false, error: { code: 'malformed' } });
    expect((malformed.error as { message: string }).message).toMatch(/invalid JSON/);

    const unknown = await ask(gw.topic('command'), '{"heater":"on","id":7}');
    expect(unknown).toMatchObject({ ok: false, id: 7, error: { code: 'unknown_output' } });
    expect((unknown.error as { message: string }).message).toContain('heater');

    const unknownSet = await ask(gw.topic('fan/set'), 'ON');
    expect(unknownSet).toMatchObject({ ok: false, topic: gw.topic('fan/set'), error: { code: 'unknown_output' } });

    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    const expired = await ask(gw.topic('command'), JSON.stringify({ led: 'on', timestamp: old, id: 'late' }));
    expect(expired).toMatchObject({ ok: false, id: 'late', error: { code: 'expired' } });

    const badValue = await ask(gw.topic('led/set'), 'BLINK');
    expect(badValue).toMatchObject({ ok: false, error: { code: 'invalid_value' } });

    expect(gw.gpio.level(27)).toBe(0); // none of them touched the pin
    const fine = await ask(gw.topic('command'), JSON.stringify({ led: 'on', timestamp: new Date().toISOString() }));
    expect(fine).toMatchObject({ ok: true, outputs: { led: 'ON' } });
    expect(gw.gpio.level(27)).toBe(1);
  });
});
