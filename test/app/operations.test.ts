import { afterEach, describe, expect, it } from 'vitest';
import { startApplication } from '../../src/app/application.js';
import { parseConfig } from '../../src/app/config/load.js';
import { silentLogger } from '../../src/util/logger.js';
import { connectClient } from '../helpers/broker.js';
import { MessageLog, startGatewayUnderTest, subscribeAndLog, type GatewayUnderTest } from '../helpers/gateway.js';
import { MOSQUITTO, startMosquitto, type MosquittoBroker } from '../helpers/mosquitto-broker.js';
import { parsePrometheusText, PROMETHEUS_PARSER, type ParsedFamily } from '../helpers/prometheus-parser.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface HealthBody {
  status: string;
  problems: string[];
  services: Record<string, string>;
  broker: { listeners: { name: string; listening: boolean }[]; clients: number };
  sensors: Record<string, { availability: string; lastError?: string }>;
  bridges: Record<string, { connected: boolean; lostMessages: number; queue: { depth: number; bytes: number; oldestAgeSeconds: number } | null }>;
  time: string;
}

/** The gateway on simulated hardware with two sensors, HTTP on a free port, and a bridge to a real mosquitto. */
async function startRig(): Promise<{ gw: GatewayUnderTest; cloud: MosquittoBroker; base: string }> {
  const cloud = await startMosquitto(['allow_anonymous true']);
  cleanups.push(() => cloud.remove());
  const state = await makeTempDir('pi-edge-ops-');
  cleanups.push(state.remove);
  const gw = await startGatewayUnderTest(
    `sensors:
  - { kind: bme280, name: climate, interval: 200ms, retries: 0, offline_after: 2 }
  - { kind: bh1750, name: light, interval: 200ms }
http: { port: 0 }
health: { interval: 200ms }
bridges:
  - connection: cloud
    addresses: [127.0.0.1:${cloud.port}]
    restart_timeout: 0.2
    topics: ['test/# out 1']
`,
    { stateDir: state.dir },
  );
  cleanups.push(() => gw.stop());
  return { gw, cloud, base: `http://127.0.0.1:${gw.running.http!.port()}` };
}

async function healthz(base: string): Promise<{ code: number; body: HealthBody }> {
  const response = await fetch(`${base}/healthz`);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return { code: response.status, body: (await response.json()) as HealthBody };
}

/** 200 with every sensor read once: before its first read a sensor is `unknown`, which does not fail health. */
const allUp = (r: { code: number; body: HealthBody }) => r.code === 200 && Object.values(r.body.sensors).every((s) => s.availability === 'online');

/** Polls /healthz until `match` holds; on timeout, says what it last saw. */
async function healthzUntil(base: string, match: (r: { code: number; body: HealthBody }) => boolean, what: string): Promise<{ code: number; body: HealthBody }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const result = await healthz(base);
    if (match(result)) return result;
    if (Date.now() > deadline) throw new Error(`/healthz never showed ${what}; last: ${result.code} ${JSON.stringify(result.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function scrape(base: string): Promise<Map<string, ParsedFamily>> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = await parsePrometheusText(await response.text());
  return new Map(families.map((f) => [f.name, f]));
}

/** The value of one sample: its full name and labels. */
function valueOf(families: Map<string, ParsedFamily>, sample: string, labels: Record<string, string> = {}): number {
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name === sample && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  throw new Error(`no sample ${sample} ${JSON.stringify(labels)}`);
}

const P = 'pi_edge_gateway_';

describe.skipIf(MOSQUITTO === undefined)('operations: /healthz, /metrics and the health topic on a running gateway', () => {
  it('/healthz is 200, 503 naming a failed sensor, 200 again, 503 naming a bridge whose cloud is gone, 200 when it is back; the retained topic follows', async () => {
    const { gw, cloud, base } = await startRig();
    const { log } = await subscribeAndLog(gw, gw.topic('health'));

    const healthy = await healthzUntil(base, allUp, 'a healthy gateway');
    expect(healthy.body).toMatchObject({
      status: 'ok',
      problems: [],
      services: { broker: 'ok', bridges: 'ok', hardware: 'ok', gateway: 'ok', http: 'ok', 'health-topic': 'ok' },
      broker: { listeners: [{ name: gw.url, listening: true }] },
      sensors: { climate: { availability: 'online' }, light: { availability: 'online' } },
      bridges: { cloud: { connected: true, lostMessages: 0, queue: { depth: expect.any(Number), bytes: expect.any(Number), oldestAgeSeconds: expect.any(Number) } } },
    });
    expect(new Date(healthy.body.time).getTime()).toBeGreaterThan(Date.now() - 60_000);
    await log.waitOn(gw.topic('health'), (p) => JSON.parse(p).status === 'ok');

    // A sensor fails: 503, named, with its error; the other sensor stays online.
    const faulted = log.mark();
    gw.sim.chips.bme280.inject({ kind: 'nack', count: Infinity });
    const failed = await healthzUntil(base, (r) => r.code !== 200, 'a failed sensor');
    expect(failed.code).toBe(503);
    expect(failed.body.status).toBe('degraded');
    expect(failed.body.sensors.climate).toMatchObject({ availability: 'offline', lastError: expect.stringMatching(/EREMOTEIO|NACK/i) });
    expect(failed.body.sensors.light!.availability).toBe('online');
    expect(failed.body.problems).toEqual([expect.stringMatching(/^sensor climate offline: /)]);
    const degraded = await log.waitOn(gw.topic('health'), (p) => JSON.parse(p).status === 'degraded', { since: faulted });
    expect(JSON.parse(degraded.payload).sensors.climate.availability).toBe('offline');

    gw.sim.chips.bme280.faults.clear();
    await healthzUntil(base, (r) => r.code === 200 && r.body.sensors.climate!.availability === 'online', 'the sensor back');

    // The cloud goes away: 503 naming the bridge, readings queue up; back to 200 when it returns and the bridge reconnects.
    const cutAt = log.mark();
    await cloud.stop();
    const down = await healthzUntil(base, (r) => r.code === 503 && (r.body.bridges.cloud?.queue?.depth ?? 0) > 0, 'a disconnected bridge with a queue');
    expect(down.body.status).toBe('degraded');
    expect(down.body.bridges.cloud!.connected).toBe(false);
    expect(down.body.problems.some((p) => /^bridge cloud disconnected/.test(p))).toBe(true);
    expect(down.body.services.bridges).toBe('degraded');
    await log.waitOn(gw.topic('health'), (p) => JSON.parse(p).bridges.cloud.connected === false, { since: cutAt });

    await cloud.start();
    const back = await healthzUntil(base, (r) => r.code === 200, 'the bridge back');
    expect(back.body.bridges.cloud!.connected).toBe(true);
    const metrics = await scrape(base);
    expect(valueOf(metrics, `${P}bridge_reconnects_total`, { bridge: 'cloud' })).toBe(1);
    expect(valueOf(metrics, `${P}sensor_read_errors_total`, { sensor: 'climate' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(metrics, `${P}sensor_online`, { sensor: 'climate' })).toBe(1);

    // What a dashboard connecting now reads: the retained summary, ok again (once the reporter has published it).
    await log.waitOn(gw.topic('health'), (p) => JSON.parse(p).status === 'ok', { since: cutAt });
    const lateClient = await connectClient(gw.url);
    cleanups.push(() => lateClient.endAsync(true));
    const lateLog = new MessageLog(lateClient);
    await lateClient.subscribeAsync(gw.topic('health'), { qos: 1 });
    const retained = await lateLog.waitOn(gw.topic('health'), (p) => JSON.parse(p).status === 'ok');
    expect(retained.retain).toBe(true);
    expect(JSON.parse(retained.payload)).toMatchObject({ status: 'ok', sensors: { climate: { availability: 'online' } }, bridges: { cloud: { connected: true } } });
  });

  it.skipIf(PROMETHEUS_PARSER === undefined)('/metrics parses as Prometheus text with one prefix, typed families and labels, and its counters move with real MQTT traffic', async () => {
    const { gw, cloud, base } = await startRig();
    await healthzUntil(base, allUp, 'a healthy gateway');
    const before = await scrape(base);

    for (const family of before.values()) expect(family.name.startsWith(P), family.name).toBe(true);
    // Counters: the family is named without _total by the parser, and each sample with it.
    const counters = [...before.values()].filter((f) => f.type === 'counter');
    expect(counters.length).toBeGreaterThan(10);
    for (const family of counters) for (const sample of family.samples) expect(sample.name, family.name).toBe(`${family.name}_total`);

    const types: Record<string, string> = {
      broker_messages_received: 'counter',
      broker_messages_sent: 'counter',
      broker_messages_dropped: 'counter',
      broker_bytes_received: 'counter',
      broker_bytes_sent: 'counter',
      broker_connections: 'counter',
      broker_clients_connected: 'gauge',
      broker_listener_up: 'gauge',
      sensor_reads: 'counter',
      sensor_read_errors: 'counter',
      sensor_online: 'gauge',
      sensor_read_duration_seconds: 'histogram',
      bridge_connected: 'gauge',
      bridge_queue_depth: 'gauge',
      bridge_queue_bytes: 'gauge',
      bridge_queue_oldest_age_seconds: 'gauge',
      bridge_inflight_messages: 'gauge',
      bridge_messages_sent: 'counter',
      bridge_messages_received: 'counter',
      bridge_messages_dropped: 'counter',
      bridge_reconnects: 'counter',
      process_cpu_user_seconds: 'counter',
      process_resident_memory_bytes: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(types)) expect(before.get(`${P}${name}`)?.type, name).toBe(type);

    expect(valueOf(before, `${P}broker_listener_up`, { listener: gw.url })).toBe(1);
    expect(valueOf(before, `${P}bridge_connected`, { bridge: 'cloud' })).toBe(1);
    expect(valueOf(before, `${P}sensor_reads_total`, { sensor: 'climate' })).toBeGreaterThan(0);
    const histogram = before.get(`${P}sensor_read_duration_seconds`)!;
    const buckets = histogram.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.sensor === 'light');
    expect(buckets.map((b) => b.labels.le)).toContain('+Inf');
    expect(valueOf(before, `${P}sensor_read_duration_seconds_count`, { sensor: 'light' })).toBeGreaterThan(0);
    expect(before.get(`${P}bridge_messages_dropped`)!.samples.map((s) => s.labels.reason).sort()).toEqual(['not_queued', 'qos0_offline', 'queue']);

    // Real traffic: a client publishes 20 QoS 1 messages on a bridged topic and subscribes to them.
    const cloudClient = await connectClient(`mqtt://127.0.0.1:${cloud.port}`);
    cleanups.push(() => cloudClient.endAsync(true));
    const cloudLog = new MessageLog(cloudClient);
    await cloudClient.subscribeAsync('test/traffic/#', { qos: 1 });
    const client = await gw.client();
    await client.subscribeAsync('test/traffic/#', { qos: 1 });
    const payload = 'x'.repeat(100);
    for (let i = 0; i < 20; i++) await client.publishAsync(`test/traffic/${i}`, payload, { qos: 1 });
    await cloudLog.waitFor(() => cloudLog.messages.filter((m) => m.topic.startsWith('test/traffic/')).length === 20, { what: '20 bridged messages' });

    const after = await scrape(base);
    const grew = (sample: string, labels: Record<string, string> = {}) => valueOf(after, sample, labels) - valueOf(before, sample, labels);
    expect(grew(`${P}broker_messages_received_total`)).toBe(20);
    expect(grew(`${P}broker_messages_sent_total`)).toBeGreaterThanOrEqual(20);
    expect(grew(`${P}broker_bytes_received_total`)).toBeGreaterThan(20 * payload.length);
    expect(grew(`${P}broker_bytes_sent_total`)).toBeGreaterThan(20 * payload.length);
    expect(grew(`${P}bridge_messages_sent_total`, { bridge: 'cloud' })).toBeGreaterThanOrEqual(20);
    expect(valueOf(after, `${P}broker_clients_connected`)).toBe(1);
    expect(grew(`${P}broker_connections_total`)).toBe(1);
    expect(grew(`${P}process_cpu_user_seconds_total`)).toBeGreaterThan(0);

    // Read, not accumulated: a second scrape with no client traffic between shows the same totals.
    const again = await scrape(base);
    for (const sample of [`${P}broker_messages_received_total`, `${P}broker_connections_total`]) expect(valueOf(again, sample), sample).toBe(valueOf(after, sample));
  });

  it('in broker mode, serves /healthz without sensors and publishes the summary on $SYS/broker/health', async () => {
    const state = await makeTempDir('pi-edge-ops-');
    cleanups.push(state.remove);
    const yaml = `gateway: { id: pi-broker, state_dir: ${JSON.stringify(state.dir)} }
broker: { listeners: [{ host: 127.0.0.1, port: 0 }], persistence: false, sys_interval: 0 }
http: { port: 0 }
health: { interval: 200ms }
`;
    const app = await startApplication({ file: '/test/broker.yaml', baseDir: state.dir, config: parseConfig(yaml, 'broker.yaml') }, { mode: 'broker', logger: silentLogger(), version: '0.0.0-test' });
    cleanups.push(() => app.stop());
    const { code, body } = await healthzUntil(`http://127.0.0.1:${app.http!.port()}`, (r) => r.code === 200, 'a healthy broker');
    expect(body).toMatchObject({ status: 'ok', services: { broker: 'ok', bridges: 'ok', http: 'ok', 'health-topic': 'ok' }, sensors: {}, bridges: {} });
    expect(Object.keys(body.services)).not.toContain('gateway');
    expect(code).toBe(200);
    const client = await connectClient(`mqtt://127.0.0.1:${app.broker.listenerPorts()[0]}`);
    cleanups.push(() => client.endAsync(true));
    const log = new MessageLog(client);
    await client.subscribeAsync('$SYS/broker/health', { qos: 1 });
    const message = await log.waitOn('$SYS/broker/health');
    expect(message.retain).toBe(true);
    expect(JSON.parse(message.payload)).toMatchObject({ status: 'ok', broker: { listeners: [{ listening: true }] } });
  });

  it.skipIf(PROMETHEUS_PARSER === undefined)('uses a parser that refuses malformed text (so a pass above means something)', async () => {
    await expect(parsePrometheusText('# TYPE x counter\nx{a="1" 1\n')).rejects.toThrow(/refused/);
  });
});
