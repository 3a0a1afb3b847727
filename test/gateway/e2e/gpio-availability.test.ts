import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSimulatedHardware } from '../../../mocks/chips/simulated-hardware.js';
import { createFakeLibgpiod, type FakeLibgpiod, type FakeLibgpiodOptions } from '../../../mocks/gpio/fake-libgpiod.js';
import { startApplication, type Application } from '../../../src/app/application.js';
import { parseConfig } from '../../../src/app/config/load.js';
import { ChardevGpioController } from '../../../src/drivers/gpio/chardev/chardev-backend.js';
import { simulatedGatewayHardware } from '../../../src/gateway/hardware-setup.js';
import { silentLogger } from '../../../src/util/logger.js';
import { connectClient } from '../../helpers/broker.js';
import { json, MessageLog, TEST_BASE, testConfigYaml } from '../../helpers/gateway.js';

/**
 * The gateway on the character-device backend, its libgpiod tools the fake shell scripts of mocks/: the tool holding
 * a line is SIGKILLed, and a real MQTT client sees the device's availability (and the health topic) follow.
 */
interface Rig {
  app: Application;
  fake: FakeLibgpiod;
  client: MqttClient;
  log: MessageLog;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    await rig.client.endAsync(true).catch(() => undefined);
    await rig.app.stop().catch(() => undefined);
    await rig.fake.cleanup();
  }
});

const topic = (leaf: string): string => `${TEST_BASE}/${leaf}`;

async function startRig(fakeOptions: FakeLibgpiodOptions, restartDelaysMs: number[]): Promise<Rig> {
  const logger = silentLogger();
  const fake = await createFakeLibgpiod(fakeOptions);
  await fake.setLevel(17, 1); // the button released, pulled up (the fake chip models no bias)
  const gpio = await ChardevGpioController.create({ logger, tools: fake.tools, devRoot: fake.devRoot, startupGraceMs: 40, restartDelaysMs });
  const sim = await createSimulatedHardware({ seed: 7, logger });
  const config = parseConfig(
    testConfigYaml(`health: { interval: 50ms }
homeassistant: { enabled: false }
inputs:
  - { name: button, pin: 17, pull: up, active_low: true }
outputs:
  - { name: relay, pin: 27, initial: "off", fail_safe: "off" }
`),
    'test.yaml',
  );
  const app = await startApplication({ file: '/test/test.yaml', baseDir: '/test', config }, { mode: 'run', logger, version: '0.0.0-test', hardware: simulatedGatewayHardware(sim, gpio) });
  const client = await connectClient(`mqtt://127.0.0.1:${app.broker.listenerPorts()[0]!}`);
  const log = new MessageLog(client);
  await client.subscribeAsync([topic('+/availability'), topic('+/state'), topic('health'), topic('command/response')], { qos: 1 });
  const rig = { app, fake, client, log };
  rigs.push(rig);
  return rig;
}

type Health = { status: string; problems: string[]; gpio: Record<string, { kind: string; availability: string; lastError?: string }> };
const health = (payload: string): Health => JSON.parse(payload) as Health;

describe('gateway end to end: availability of inputs and outputs on the character device', () => {
  it.each<[string, FakeLibgpiodOptions]>([
    ['v1', { major: 1 }],
    ['v2 interactive', { major: 2, interactive: true }],
  ])('libgpiod %s: a device goes offline when the tool holding its line dies, and online once it is restarted', async (_name, options) => {
    const { app, fake, log } = await startRig(options, [300]);
    await log.waitOn(topic('button/availability'), (p) => p === 'online');
    await log.waitOn(topic('relay/availability'), (p) => p === 'online');
    await log.waitOn(topic('health'), (p) => health(p).gpio.button?.availability === 'online' && health(p).gpio.relay?.availability === 'online');
    await vi.waitFor(() => expect(fake.held(17) && fake.held(27)).toBe(true), { timeout: 5000, interval: 10 });

    // The relay is switched on first: its restart must bring that level back, not the configured initial one.
    const { client } = rigs.at(-1)!;
    let since = log.mark();
    await client.publishAsync(topic('relay/set'), 'ON', { qos: 1 });
    expect(json(await log.waitOn(topic('relay/state'), () => true, { since })).state).toBe('ON');
    await vi.waitFor(async () => expect(await fake.level(27)).toBe(1), { timeout: 5000, interval: 10 });

    // gpiomon, holding the button's line, is killed.
    since = log.mark();
    await fake.crash(17);
    await log.waitOn(topic('button/availability'), (p) => p === 'offline', { since });
    const degraded = health((await log.waitOn(topic('health'), (p) => health(p).gpio.button?.availability === 'offline', { since })).payload);
    expect(degraded.status).toBe('degraded');
    expect(degraded.gpio.button).toMatchObject({ kind: 'input', lastError: expect.stringMatching(/gpiomon/) });
    expect(degraded.gpio.relay?.availability).toBe('online');
    expect(degraded.problems).toEqual([expect.stringMatching(/^input button offline: .*gpiomon/)]);
    expect(app.gateway!.health().status).toBe('degraded');
    await log.waitOn(topic('button/availability'), (p) => p === 'online', { since });
    await log.waitOn(topic('health'), (p) => health(p).status === 'ok', { since });
    // The relay was never reported offline meanwhile: only the button's tool died.
    expect(log.on(topic('relay/availability'), since)).toEqual([]);

    // The restarted gpiomon reports edges again.
    since = log.mark();
    await fake.edge(17, 0);
    expect(json(await log.waitOn(topic('button/state'), () => true, { since })).state).toBe('ON');

    // gpioset, holding the relay's line, is killed: the line is released; the restarted gpioset sets the last level.
    since = log.mark();
    await fake.crash(27);
    await log.waitOn(topic('relay/availability'), (p) => p === 'offline', { since });
    await log.waitOn(topic('health'), (p) => health(p).gpio.relay?.availability === 'offline' && health(p).problems.some((x) => /^output relay offline/.test(x)), { since });
    await log.waitOn(topic('relay/availability'), (p) => p === 'online', { since });
    expect(fake.held(27)).toBe(true);
    expect(await fake.level(27)).toBe(1);
    await log.waitOn(topic('health'), (p) => health(p).status === 'ok' && health(p).gpio.relay?.lastError !== undefined, { since });
    expect(app.gateway!.health().status).toBe('ok');

    // And it obeys commands again.
    since = log.mark();
    await client.publishAsync(topic('relay/set'), 'OFF', { qos: 1 });
    expect(json(await log.waitOn(topic('relay/state'), () => true, { since })).state).toBe('OFF');
    await vi.waitFor(async () => expect(await fake.level(27)).toBe(0), { timeout: 5000, interval: 10 });
  });

  it('a pulse whose revert fell due while its gpioset was down ends once the gpioset is back', async () => {
    // The revert falls due a second after the command, the gpioset is back 2.5 s after it died: the crash only has
    // to happen within that second.
    const { fake, log, client } = await startRig({ major: 2, interactive: true }, [2500]);
    await log.waitOn(topic('relay/availability'), (p) => p === 'online');
    const since = log.mark();
    await client.publishAsync(topic('relay/set'), JSON.stringify({ state: 'ON', duration: 1 }), { qos: 1 });
    expect(json(await log.waitOn(topic('relay/state'), () => true, { since })).state).toBe('ON');
    await fake.crash(27);
    await log.waitOn(topic('relay/availability'), (p) => p === 'offline', { since });
    await log.waitOn(topic('relay/availability'), (p) => p === 'online', { since });
    expect(json(await log.waitOn(topic('relay/state'), (p) => JSON.parse(p).state === 'OFF', { since })).state).toBe('OFF');
    // In that order: the revert was not applied before the line went away (else this test proves nothing).
    const relay = log.after(since).filter((m) => m.topic.startsWith(topic('relay/')));
    const order = relay.map((m) => `${m.topic.slice(topic('relay/').length)} ${m.topic.endsWith('/state') ? String(json(m).state) : m.payload}`);
    expect(order).toEqual(['state ON', 'availability offline', 'availability online', 'state OFF']);
    await vi.waitFor(async () => expect(await fake.level(27)).toBe(0), { timeout: 5000, interval: 10 });
  });
});
