import { beforeEach, describe, expect, it } from 'vitest';
import { CommandHandler } from '../../../src/gateway/commands/command-handler.js';
import { OutputExecutor } from '../../../src/gateway/commands/output-executor.js';
import { CommandParser } from '../../../src/gateway/commands/parse.js';
import { StatePublisher } from '../../../src/gateway/state-publisher.js';
import { TopicLayout } from '../../../src/gateway/topics.js';
import { systemClock, type Clock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { FakeBus } from '../../helpers/fake-bus.js';
import { FakeLine } from './fake-line.js';

function responses(bus: FakeBus): Record<string, unknown>[] {
  return bus.published.filter((m) => m.topic === 'home/command/response').map((m) => JSON.parse(String(m.payload)) as Record<string, unknown>);
}

const NOW = Date.parse('2025-06-01T12:00:00.000Z');
const clock: Clock = { ...systemClock, now: () => NOW };

describe('CommandHandler', () => {
  let transport: FakeBus;
  let led: FakeLine;
  let relay: FakeLine;
  let executor: OutputExecutor;
  let handler: CommandHandler;

  beforeEach(async () => {
    transport = new FakeBus();
    const topics = new TopicLayout({ baseTopic: 'home', gatewayId: 'pi', discoveryPrefix: 'homeassistant' });
    const publisher = new StatePublisher(transport, topics, { qos: 1, retain: true }, silentLogger());
    led = new FakeLine(17, 0);
    relay = new FakeLine(27, 0);
    executor = new OutputExecutor([
      { name: 'led', line: led },
      { name: 'relay', line: relay },
    ]);
    await executor.init();
    const parser = new CommandParser({ outputs: ['led', 'relay'], maxAgeMs: 60_000 });
    handler = new CommandHandler(transport, topics, parser, executor, publisher, clock, silentLogger());
    await handler.start();
  });

  it('subscribes to the set topics and the command topic, and unsubscribes on stop', async () => {
    expect([...transport.handlers.keys()].sort()).toEqual(['home/+/set', 'home/command']);
    await handler.stop();
    expect(transport.handlers.size).toBe(0);
  });

  it('executes a set command and answers with the new state (not retained)', async () => {
    await transport.deliver('home/led/set', 'ON');
    expect(led.writes).toEqual([1]);
    expect(responses(transport)).toEqual([{ ok: true, outputs: { led: 'ON' }, topic: 'home/led/set', received_at: '2025-06-01T12:00:00.000Z' }]);
    const response = transport.published.find((m) => m.topic === 'home/command/response')!;
    expect(response).toMatchObject({ qos: 1, retain: false });
  });

  it('executes a gateway command on several outputs and echoes its id', async () => {
    await transport.deliver('home/command', JSON.stringify({ led: 'on', relay: { state: 'toggle' }, id: 'abc' }));
    expect(led.writes).toEqual([1]);
    expect(relay.writes).toEqual([1]);
    expect(responses(transport)).toEqual([
      { id: 'abc', ok: true, outputs: { led: 'ON', relay: 'ON' }, topic: 'home/command', received_at: '2025-06-01T12:00:00.000Z' },
    ]);
  });

  it.each([
    ['home/command', '{"led":', 'malformed', /invalid JSON/],
    ['home/command', '{"fan":"on"}', 'unknown_output', /fan/],
    ['home/command', JSON.stringify({ led: 'on', timestamp: NOW - 120_000 }), 'expired', /./],
    ['home/command', JSON.stringify({ led: 'on', expires: new Date(NOW - 1000).toISOString() }), 'expired', /./],
    ['home/led/set', 'BLINK', 'invalid_value', /BLINK/],
    ['home/fan/set', 'ON', 'unknown_output', /fan/],
    ['home/led/set', Buffer.from([0xff, 0xfe]), 'malformed', /UTF-8/],
  ])('refuses %s %s with %s, touching nothing', async (topic, payload, code, message) => {
    await transport.deliver(topic, payload);
    expect(led.writes).toEqual([]);
    const [response] = responses(transport);
    expect(response).toMatchObject({ ok: false, topic, error: { code } });
    expect((response!.error as { message: string }).message).toMatch(message);
  });

  it('reports a hardware failure as execution_failed, with the outputs that did change', async () => {
    relay.failWrites = true;
    await transport.deliver('home/command', '{"led":"on","relay":"on","id":5}');
    const [response] = responses(transport);
    expect(response).toMatchObject({ id: 5, ok: false, outputs: { led: 'ON' }, error: { code: 'execution_failed' } });
    expect((response!.error as { message: string }).message).toMatch(/relay.*EIO/);
  });

  it('answers commands that arrive after the executor shut down, without throwing', async () => {
    await executor.shutdown();
    await transport.deliver('home/led/set', '{"state":"ON","id":"late"}');
    expect(responses(transport)).toMatchObject([{ ok: false, id: 'late', error: { message: expect.stringMatching(/shut down/) } }]);
  });

  it('survives a broker that cannot take the response', async () => {
    transport.failPublish = true;
    await transport.deliver('home/led/set', 'ON');
    expect(led.writes).toEqual([1]);
    transport.failPublish = false;
    await transport.deliver('home/led/set', 'OFF');
    expect(led.writes).toEqual([1, 0]);
    expect(responses(transport)).toHaveLength(1);
  });

  it('executes commands in arrival order', async () => {
    await Promise.all([transport.deliver('home/led/set', 'ON'), transport.deliver('home/led/set', 'OFF'), transport.deliver('home/led/set', 'TOGGLE')]);
    expect(led.writes).toEqual([1, 0, 1]);
  });
});
