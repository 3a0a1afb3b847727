import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../src/app/config/load.js';
import { segmentName } from '../../src/bridge/queue/segment-file.js';
import { startApplication, type Application } from '../../src/app/application.js';
import { createLogger, silentLogger } from '../../src/util/logger.js';
import { collect, connectClient, settle } from '../helpers/broker.js';
import { MOSQUITTO, startMosquitto, type MosquittoBroker } from '../helpers/mosquitto-broker.js';
import { freePort } from '../helpers/free-port.js';
import { startGatewayUnderTest, TEST_BASE } from '../helpers/gateway.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { createTestPki, hasOpenssl } from '../helpers/tls.js';
import { startCliProcess } from '../helpers/cli-process.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Rig {
  cloud: MosquittoBroker;
  app: Application;
  stateDir: string;
  /** An MQTT client on the gateway's own broker. */
  local(clientId?: string): Promise<MqttClient>;
  /** An MQTT client on the cloud mosquitto. */
  remote(clientId?: string): Promise<MqttClient>;
}

/** A cloud mosquitto, and the gateway's broker bridged to it with `bridge` (YAML lines of one bridges entry). */
async function rig(bridge: string, options: { cloud?: MosquittoBroker; connectWithinMs?: number; sysInterval?: number } = {}): Promise<Rig> {
  const { cloud, connectWithinMs = 10_000, sysInterval = 0 } = options;
  const cloudBroker = cloud ?? (await startMosquitto(['allow_anonymous true']));
  if (!cloud) cleanups.push(() => cloudBroker.remove());
  const state = await makeTempDir('pi-edge-bridge-');
  cleanups.push(state.remove);
  const yaml = `gateway: { id: pi-test, state_dir: ${JSON.stringify(state.dir)} }
broker:
  listeners: [{ host: 127.0.0.1, port: 0 }]
  persistence: false
  sys_interval: ${sysInterval}
bridges:
  - connection: cloud
    addresses: [127.0.0.1:${cloudBroker.port}]
    restart_timeout: 0.2
${bridge
  .trim()
  .split('\n')
  .map((line) => `    ${line}`)
  .join('\n')}
`;
  const app = await startApplication({ file: '/test/bridge.yaml', baseDir: state.dir, config: parseConfig(yaml, 'bridge.yaml') }, { mode: 'broker', logger: process.env.BRIDGE_TEST_LOG ? createLogger({ level: 'debug', pretty: false }) : silentLogger(), version: '0.0.0-test' });
  cleanups.push(() => app.stop().catch(() => undefined));
  const clients: MqttClient[] = [];
  cleanups.push(() => Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined))));
  const open = async (url: string, clientId?: string) => {
    const client = await connectClient(url, clientId ? { clientId } : {});
    clients.push(client);
    return client;
  };
  await waitForState(app, '1', connectWithinMs);
  return {
    cloud: cloudBroker,
    app,
    stateDir: state.dir,
    local: (clientId) => open(`mqtt://127.0.0.1:${app.broker.listenerPorts()[0]}`, clientId),
    remote: (clientId) => open(`mqtt://127.0.0.1:${cloudBroker.port}`, clientId),
  };
}

/** Waits until the bridge's local notification topic says `state` (1 connected, 0 not). */
async function waitForState(app: Application, state: '0' | '1', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [retained] = await app.broker.retained('$SYS/broker/connection/cloud/state');
    if (retained?.payload.toString() === state) return;
    if (Date.now() > deadline) throw new Error(`bridge state never became ${state}`);
    await settle(50);
  }
}

describe.skipIf(MOSQUITTO === undefined)('the bridge, against a real mosquitto', () => {
  it('maps out with mosquitto\'s prefixes: pi-edge/# out 1 "" site1/', async () => {
    const r = await rig(`topics: ['pi-edge/# out 1 "" site1/']`);
    const cloud = await r.remote();
    const inbox = collect(cloud);
    await cloud.subscribeAsync('#', { qos: 1 });
    const local = await r.local();
    await local.publishAsync('pi-edge/climate/state', '{"t":21}', { qos: 1 });
    await local.publishAsync('elsewhere/x', 'not bridged', { qos: 1 });
    const [message] = await inbox.waitFor(1);
    expect(message).toMatchObject({ topic: 'site1/pi-edge/climate/state', payload: '{"t":21}', qos: 1 });
    await settle(300);
    expect(inbox.messages.filter((m) => !m.topic.startsWith('$SYS')).map((m) => m.topic)).toEqual(['site1/pi-edge/climate/state']);
  });

  it('maps in, prefixes swapped: cmd/# in 1 pi-edge/ site1/', async () => {
    const r = await rig(`topics: ['cmd/# in 1 pi-edge/ site1/']`);
    const local = await r.local();
    const inbox = collect(local);
    await local.subscribeAsync('pi-edge/#', { qos: 1 });
    const cloud = await r.remote();
    await cloud.publishAsync('site1/cmd/led', 'ON', { qos: 1 });
    const [message] = await inbox.waitFor(1);
    expect(message).toMatchObject({ topic: 'pi-edge/cmd/led', payload: 'ON', qos: 1 });
  });

  it.each([
    ['MQTT 3.1.1, announced as a bridge (try_private)', ''],
    ['MQTT 5, no-local subscriptions', 'protocol_version: mqttv50'],
  ])('sends nothing back with a both rule, %s: each side sees the other\'s message once', async (_how, extra) => {
    const r = await rig(`topics: ['shared/# both 1']\n${extra}`);
    const local = await r.local('local-sub');
    const localInbox = collect(local);
    await local.subscribeAsync('shared/#', { qos: 1 });
    const cloud = await r.remote('cloud-sub');
    const cloudInbox = collect(cloud);
    await cloud.subscribeAsync('shared/#', { qos: 1 });
    await local.publishAsync('shared/from-local', 'a', { qos: 1 });
    await cloud.publishAsync('shared/from-cloud', 'b', { qos: 1 });
    await localInbox.waitFor(2);
    await cloudInbox.waitFor(2);
    await settle(500);
    expect(localInbox.messages.map((m) => m.topic).sort()).toEqual(['shared/from-cloud', 'shared/from-local']);
    expect(cloudInbox.messages.map((m) => m.topic).sort()).toEqual(['shared/from-cloud', 'shared/from-local']);
  });

  it('notifies: retained 1/0 locally, online (and offline on a clean stop) on the cloud', async () => {
    const r = await rig(`topics: ['x/# out 1']`);
    const cloud = await r.remote();
    const inbox = collect(cloud);
    await cloud.subscribeAsync('$SYS/broker/connection/pi-test/state', { qos: 1 });
    expect((await inbox.waitFor(1))[0]).toMatchObject({ payload: 'online', retain: true });
    await r.app.stop();
    expect((await inbox.waitFor(2))[1]).toMatchObject({ payload: 'offline' });
  });

  it('at the byte bound drops the oldest messages, counts them, and loses nothing else', async () => {
    const cloudBroker = await startMosquitto(['allow_anonymous true'], { persistence: true });
    cleanups.push(() => cloudBroker.remove());
    const received = new Set<number>();
    await (await watchSession(cloudBroker.port, 'bound-watcher', () => undefined)).subscribeAsync('bound/seq', { qos: 1 });
    const r = await rig(`topics: ['bound/# out 1']\nqueue: { max_bytes: 64KiB }`, { cloud: cloudBroker });
    await cloudBroker.stop();
    await waitForState(r.app, '0');
    const local = await r.local();
    const total = 2000;
    const payload = (i: number) => `${i}:${'x'.repeat(100)}`;
    for (let i = 0; i < total; i++) await local.publishAsync('bound/seq', payload(i), { qos: 1 });
    await cloudBroker.start();
    await watchSession(cloudBroker.port, 'bound-watcher', (message) => received.add(Number(message.split(':')[0])));
    await waitForState(r.app, '1');
    const bridge = () => (r.app.bridges.health().detail.cloud as { detail: { queue: { depth: number; dropped: number } } }).detail.queue;
    const deadline = Date.now() + 20_000;
    while (bridge().depth > 0 && Date.now() < deadline) await settle(100);
    await settle(300);
    const dropped = bridge().dropped;
    expect(dropped).toBeGreaterThan(0);
    // The oldest went: what arrived is everything from the first survivor to the last message, nothing missing.
    const first = Math.min(...received);
    expect(first).toBe(dropped);
    expect(received.size).toBe(total - dropped);
  });

  it('publishes its figures under $SYS/broker/connection/<name>/ every sys_interval', async () => {
    const r = await rig(`topics: ['figures/# out 1']`, { sysInterval: 1 });
    const local = await r.local();
    for (let i = 0; i < 3; i++) await local.publishAsync('figures/x', String(i), { qos: 1 });
    const figure = async (name: string) => (await r.app.broker.retained(`$SYS/broker/connection/cloud/${name}`))[0]?.payload.toString();
    const deadline = Date.now() + 5_000;
    while ((await figure('messages/sent')) !== '3' && Date.now() < deadline) await settle(100);
    expect(await figure('messages/sent')).toBe('3');
    expect(await figure('queue/depth')).toBe('0');
    expect(await figure('reconnects')).toBe('0');
  });

  it('loses nothing across a cloud outage: every QoS 1 message arrives, in order', async () => {
    const cloudBroker = await startMosquitto(['allow_anonymous true'], { persistence: true });
    cleanups.push(() => cloudBroker.remove());
    const r = await rig(`topics: ['pi-edge/# out 1']`, { cloud: cloudBroker });
    const received: number[] = [];
    // A persistent session on the cloud (and mosquitto saving it across its restart): what arrives while the
    // watcher is away waits for it there.
    const watch = async () => {
      const cloud = await watchSession(cloudBroker.port, 'watcher', (payload) => received.push(Number(payload)));
      await cloud.subscribeAsync('pi-edge/seq', { qos: 1 });
    };
    await watch();
    const local = await r.local();
    const total = 300;
    const publishing = (async () => {
      for (let sent = 0; sent < total; sent++) {
        await local.publishAsync('pi-edge/seq', String(sent), { qos: 1 });
        await settle(5);
      }
    })();
    await settle(400);
    await cloudBroker.stop();
    await waitForState(r.app, '0');
    await settle(1000);
    await cloudBroker.start();
    await watch();
    await publishing;
    const deadline = Date.now() + 20_000;
    while (new Set(received).size < total && Date.now() < deadline) await settle(100);
    const distinct = [...new Set(received)];
    expect(distinct.length).toBe(total);
    // In order per publisher: the first arrival of each number is in increasing order.
    expect(distinct).toEqual([...distinct].sort((a, b) => a - b));
  });

  it('reopens its queue by itself after a failed write: what came meanwhile is counted lost, what comes after arrives', async () => {
    const r = await rig(`topics: ['pi-edge/# out 1']`);
    // The segment the first append opens is a device that refuses every write, as a dying SD card would.
    const queueDir = path.join(r.stateDir, 'bridges', 'cloud');
    const badSegment = path.join(queueDir, segmentName(1));
    await mkdir(queueDir, { recursive: true });
    await symlink('/dev/full', badSegment);
    const cloud = await r.remote('watcher');
    const inbox = collect(cloud);
    await cloud.subscribeAsync('pi-edge/#', { qos: 1 });
    const local = await r.local();
    const bridgeHealth = () => (r.app.lifecycle.health().services.bridges?.detail as Record<string, { status: string; detail: Record<string, unknown> }>).cloud!;

    await local.publishAsync('pi-edge/reading', 'during', { qos: 1 });
    // Lost, counted, and shown in health until a message gets through again. Reopening read the device as an empty
    // segment and put it aside, so the queue is open again already.
    expect(bridgeHealth()).toMatchObject({ status: 'degraded', detail: { failedAppends: 1, losing: 1 } });
    const deadline = Date.now() + 10_000;
    while (bridgeHealth().detail.queueProblem !== undefined && Date.now() < deadline) await settle(50);
    expect(bridgeHealth().detail.queueProblem).toBeUndefined();
    await local.publishAsync('pi-edge/reading', 'after', { qos: 1 });
    await inbox.waitFor(1);
    expect(inbox.messages.map((m) => m.payload)).toEqual(['after']);
    expect(bridgeHealth()).toMatchObject({ status: 'ok', detail: { failedAppends: 1 } });
    expect(bridgeHealth().detail.losing).toBeUndefined();
  });

  it('with drain: live_first, sends a new reading ahead of the backlog and keeps the newest value retained on the cloud', async () => {
    const cloudBroker = await startMosquitto(['allow_anonymous true'], { persistence: true });
    cleanups.push(() => cloudBroker.remove());
    const r = await rig(`topics: ['pi-edge/# out 1']\nqueue: { drain: live_first, durability: write }`, { cloud: cloudBroker });
    const arrivals: string[] = [];
    const watch = async () => {
      const cloud = await watchSession(cloudBroker.port, 'watcher', (payload) => arrivals.push(payload));
      await cloud.subscribeAsync('pi-edge/#', { qos: 1 });
    };
    await watch();
    await cloudBroker.stop();
    await waitForState(r.app, '0');
    const local = await r.local();
    const backlog = 6000;
    for (let start = 0; start < backlog; start += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, i) => local.publishAsync('pi-edge/backlog', `b${start + i}`, { qos: 1 })));
    }
    // The last word of the outage on a retained topic, then the cloud comes back and a newer value follows at once.
    await local.publishAsync('pi-edge/temperature', 'old', { qos: 1, retain: true });
    await cloudBroker.start();
    await watch();
    await waitForState(r.app, '1');
    await local.publishAsync('pi-edge/temperature', 'new', { qos: 1, retain: true });
    const deadline = Date.now() + 30_000;
    while (!(arrivals.includes('old') && arrivals.includes('new') && arrivals.includes(`b${backlog - 1}`)) && Date.now() < deadline) await settle(50);
    // Nothing lost, and the fresh reading overtook the part of the backlog still on disk.
    expect(new Set(arrivals.filter((a) => a.startsWith('b'))).size).toBe(backlog);
    expect(arrivals.indexOf('new')).toBeLessThan(arrivals.indexOf(`b${backlog - 1}`));
    expect(arrivals.indexOf('new')).toBeLessThan(arrivals.indexOf('old'));
    // `old` went out after `new`, without its retain flag: the cloud's retained value is the newest.
    const late = await r.remote('late-reader');
    const retained = collect(late);
    await late.subscribeAsync('pi-edge/temperature', { qos: 1 });
    await retained.waitFor(1);
    expect(retained.messages.map((m) => m.payload)).toEqual(['new']);
  });
});

describe.skipIf(MOSQUITTO === undefined)('the bridge in the whole gateway', () => {
  it('drives a simulated LED from a cloud command, and the state goes back up', async () => {
    const cloudBroker = await startMosquitto(['allow_anonymous true']);
    cleanups.push(() => cloudBroker.remove());
    const state = await makeTempDir('pi-edge-bridge-gw-');
    cleanups.push(state.remove);
    const gw = await startGatewayUnderTest(
      `outputs:
  - { name: led, pin: 27, initial: off }
bridges:
  - connection: cloud
    addresses: [127.0.0.1:${cloudBroker.port}]
    restart_timeout: 0.2
    topics: ['led/set in 1 ${TEST_BASE}/ site1/', 'led/state out 1 ${TEST_BASE}/ site1/']`,
      { stateDir: state.dir },
    );
    cleanups.push(() => gw.stop());
    await waitForState(gw.running, '1');
    const cloud = await connectClient(`mqtt://127.0.0.1:${cloudBroker.port}`);
    cleanups.push(() => cloud.endAsync(true));
    const inbox = collect(cloud);
    await cloud.subscribeAsync('site1/led/state', { qos: 1 });
    await inbox.waitFor(1);
    expect(gw.gpio.level(27)).toBe(0);
    await cloud.publishAsync('site1/led/set', 'ON', { qos: 1 });
    const deadline = Date.now() + 10_000;
    while (!inbox.messages.some((m) => m.payload.includes('"ON"')) && Date.now() < deadline) await settle(50);
    expect(gw.gpio.level(27)).toBe(1);
    expect(JSON.parse(inbox.messages.at(-1)!.payload)).toMatchObject({ state: 'ON' });
  });
});

describe.skipIf(MOSQUITTO === undefined || !hasOpenssl)('the bridge over TLS', () => {
  it('reaches a mosquitto that requires a client certificate, and refuses a server its CA does not vouch for', async () => {
    const pkiDir = await makeTempDir('pi-edge-bridge-pki-');
    cleanups.push(pkiDir.remove);
    const pki = await createTestPki(pkiDir.dir);
    const cloudBroker = await startMosquitto([
      'allow_anonymous true',
      `cafile ${pki.caCert}`,
      `certfile ${pki.serverCert}`,
      `keyfile ${pki.serverKey}`,
      'require_certificate true',
    ]);
    cleanups.push(() => cloudBroker.remove());
    const tls = (ca: string) => `tls: { cafile: ${JSON.stringify(ca)}, certfile: ${JSON.stringify(pki.clientCert)}, keyfile: ${JSON.stringify(pki.clientKey)} }`;
    const r = await rig(`topics: ['secure/# out 1']\n${tls(pki.caCert)}`, { cloud: cloudBroker });
    const cloud = await connectClient(`mqtts://127.0.0.1:${cloudBroker.port}`, { ca: pki.read(pki.caCert), cert: pki.read(pki.clientCert), key: pki.read(pki.clientKey) });
    cleanups.push(() => cloud.endAsync(true));
    const inbox = collect(cloud);
    await cloud.subscribeAsync('secure/#', { qos: 1 });
    const local = await r.local();
    await local.publishAsync('secure/reading', '42', { qos: 1 });
    expect((await inbox.waitFor(1))[0]).toMatchObject({ topic: 'secure/reading', payload: '42' });

    const rogueCa = path.join(pki.dir, 'rogue-ca.crt');
    await expect(rig(`topics: ['secure/# out 1']\n${tls(rogueCa)}`, { cloud: cloudBroker, connectWithinMs: 2000 })).rejects.toThrow('bridge state never became 1');
  });
});

describe.skipIf(MOSQUITTO === undefined)('the bridge through a crash', () => {
  it('delivers every message the local broker acknowledged before a SIGKILL, once the gateway is back', async () => {
    const cloudBroker = await startMosquitto(['allow_anonymous true'], { persistence: true });
    cleanups.push(() => cloudBroker.remove());
    const received = new Set<number>();
    const watcher = await connectClient(`mqtt://127.0.0.1:${cloudBroker.port}`, { clientId: 'crash-watcher', clean: false });
    await watcher.subscribeAsync('crash/seq', { qos: 1 });
    await watcher.endAsync();
    // The cloud is down while the gateway takes the messages: they can only be in its queue when it is killed.
    await cloudBroker.stop();

    const state = await makeTempDir('pi-edge-bridge-crash-');
    cleanups.push(state.remove);
    const port = await freePort();
    const config = path.join(state.dir, 'gateway.yaml');
    await writeFile(
      config,
      `gateway: { id: crash-pi, state_dir: ${JSON.stringify(state.dir)} }
broker: { listeners: [{ host: 127.0.0.1, port: ${port} }], persistence: false, sys_interval: 0 }
bridges:
  - { connection: cloud, addresses: [127.0.0.1:${cloudBroker.port}], restart_timeout: 0.2, topics: ['crash/# out 1'] }
`,
    );
    const first = await startCliProcess('broker', config, port);
    cleanups.push(() => void first.kill('SIGKILL'));
    const publisher = await connectClient(`mqtt://127.0.0.1:${port}`, { clientId: 'crash-publisher' });
    const acknowledged: number[] = [];
    let killed = false;
    // Not awaited: MQTT.js holds a QoS 1 publish of a dead connection for a reconnect that never comes.
    void (async () => {
      for (let i = 0; !killed; i++) {
        await publisher.publishAsync('crash/seq', String(i), { qos: 1 });
        if (!killed) acknowledged.push(i);
      }
    })().catch(() => undefined);
    while (acknowledged.length < 200) await settle(20);
    killed = true;
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    publisher.end(true);
    await cloudBroker.start();
    const second = await startCliProcess('broker', config, port);
    cleanups.push(() => void second.kill('SIGKILL'));
    await watchSession(cloudBroker.port, 'crash-watcher', (payload) => received.add(Number(payload)));
    const deadline = Date.now() + 20_000;
    while (acknowledged.some((i) => !received.has(i)) && Date.now() < deadline) await settle(100);
    expect(acknowledged.filter((i) => !received.has(i))).toEqual([]);
    second.kill('SIGTERM');
  }, 60_000);
});

/**
 * A persistent session on the cloud, its messages handed to `onMessage` from the first: the listener is there before
 * CONNACK, when mosquitto sends what it kept for the session.
 */
async function watchSession(port: number, clientId: string, onMessage: (payload: string) => void): Promise<MqttClient> {
  const client = mqtt.connect({ host: '127.0.0.1', port, clientId, clean: false, reconnectPeriod: 0, protocolVersion: 4 });
  cleanups.push(() => client.endAsync(true));
  client.on('message', (_topic, payload) => onMessage(payload.toString()));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}


describe.skipIf(MOSQUITTO === undefined)('the bridge on reload (SIGHUP)', () => {
  it('applies a changed topic rule from the config file, keeping local clients connected', async () => {
    const cloudBroker = await startMosquitto(['allow_anonymous true']);
    cleanups.push(() => cloudBroker.remove());
    const state = await makeTempDir('pi-edge-bridge-reload-');
    cleanups.push(state.remove);
    const file = path.join(state.dir, 'gateway.yaml');
    const write = (topic: string) =>
      writeFile(
        file,
        `gateway: { id: reload-pi, state_dir: ${JSON.stringify(state.dir)} }
broker: { listeners: [{ host: 127.0.0.1, port: 0 }], persistence: false, sys_interval: 0 }
bridges:
  - { connection: cloud, addresses: [127.0.0.1:${cloudBroker.port}], restart_timeout: 0.2, topics: ['${topic} out 1'] }
`,
      );
    await write('first/#');
    const app = await startApplication(await loadConfigFile(file), { mode: 'broker', logger: silentLogger(), version: '0.0.0-test' });
    cleanups.push(() => app.stop().catch(() => undefined));
    await waitForState(app, '1');
    const local = await connectClient(`mqtt://127.0.0.1:${app.broker.listenerPorts()[0]}`);
    cleanups.push(() => local.endAsync(true));
    const cloud = await connectClient(`mqtt://127.0.0.1:${cloudBroker.port}`);
    cleanups.push(() => cloud.endAsync(true));
    const inbox = collect(cloud);
    await cloud.subscribeAsync(['first/#', 'second/#'], { qos: 1 });

    await write('second/#');
    await app.reload();
    await waitForState(app, '1');
    await local.publishAsync('first/x', 'no longer bridged', { qos: 1 });
    await local.publishAsync('second/x', 'bridged now', { qos: 1 });
    expect((await inbox.waitFor(1))[0]).toMatchObject({ topic: 'second/x' });
    await settle(300);
    expect(inbox.messages.map((m) => m.topic)).toEqual(['second/x']);
    expect(local.connected).toBe(true);
  });
});
