import { machineCpuSeconds, type BrokerProcess } from './brokers.js';
import { connectClient, type BenchClient, type ClientKind } from './client.js';
import { decodePayload, encodePayload, nowMicros, type Decoded } from './payload.js';
import { LatencyRecorder, SeqSet } from './stats.js';

export interface ScenarioContext {
  broker: BrokerProcess;
  client: ClientKind;
  /** Measured seconds. */
  durationSeconds: number;
  /** Seconds of load before the measured window. */
  warmupSeconds: number;
  /** QoS 1 subscribers use clean sessions instead of persistent ones. */
  cleanSubscribers: boolean;
  /** Called with the broker once the idle connections are open (heap snapshot hook). */
  onIdle?: (broker: BrokerProcess) => Promise<void>;
  /** Called as a load scenario's measured window starts and ends (allocation profile hook). */
  onWindow?: (phase: 'start' | 'end', broker: BrokerProcess) => Promise<void>;
}

export interface ScenarioResult {
  /** Deliveries per second received by the subscribers. */
  msgsPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  sent?: number;
  /** Expected deliveries that never arrived (QoS 1 must be 0). */
  lost?: number;
  duplicates?: number;
  /** Deliveries that arrived after a later message of the same publisher (MQTT 3.1.1 §4.6 wants them in order). */
  reordered?: number;
  /** Broker CPU time per delivery. */
  cpuUsPerMsg?: number;
  /** Broker CPU over the measured window, % of one core. */
  brokerCpuPct?: number;
  /** Load generator (this process) CPU, % of one core: near 100 means the generator, not the broker, is the limit. */
  loadgenCpuPct?: number;
  /** CPU used by everything else on the machine during the window, % of one core: high means a noisy run. */
  otherCpuPct?: number;
  /** Bytes our broker allocated per delivery in the measured window (--alloc-profile): a CPU cost that steal leaves alone. */
  allocBytesPerMsg?: number;
  /** CPU time the VM's hypervisor withheld during the window (steal), % of one core: high means a noisy run. */
  stealCpuPct?: number;
  rssKiB?: number;
  kibPerConnection?: number;
  replayMs?: number;
  replayed?: number;
}

export interface Scenario {
  name: string;
  description: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

interface LoadSpec {
  publishers: number;
  subscribers: number;
  qos: 0 | 1;
  /** Messages per second published in total; undefined: as fast as the broker delivers them. */
  rate?: number;
  /** Full rate: messages per publisher published and not yet delivered to every subscriber. */
  window: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// Full-rate window override, for experiments: BENCH_WINDOW=200
const WINDOW = process.env.BENCH_WINDOW ? Number(process.env.BENCH_WINDOW) : undefined;

export const SCENARIOS: Scenario[] = [
  load('fanin-q0', '10 publishers → 1 subscriber, QoS 0, full rate', { publishers: 10, subscribers: 1, qos: 0, window: 50 }),
  load('fanin-q1', '10 publishers → 1 subscriber, QoS 1, full rate', { publishers: 10, subscribers: 1, qos: 1, window: 50 }),
  load('fanin-q0-2k', '10 publishers → 1 subscriber, QoS 0, 2,000 msg/s', { publishers: 10, subscribers: 1, qos: 0, rate: 2000, window: 0 }),
  load('fanin-q1-2k', '10 publishers → 1 subscriber, QoS 1, 2,000 msg/s', { publishers: 10, subscribers: 1, qos: 1, rate: 2000, window: 0 }),
  load('fanout-q0', '1 publisher → 50 subscribers, QoS 0, full rate', { publishers: 1, subscribers: 50, qos: 0, window: 20 }),
  load('fanout-q1', '1 publisher → 50 subscribers, QoS 1, full rate', { publishers: 1, subscribers: 50, qos: 1, window: 20 }),
  load('fanout-q1-2k', '1 publisher → 50 subscribers, QoS 1, 40 msg/s = 2,000 deliveries/s', {
    publishers: 1,
    subscribers: 50,
    qos: 1,
    rate: 40,
    window: 0,
  }),
  { name: 'idle', description: 'RSS per idle connection, 2,000 connections', run: idleConnections },
  { name: 'retained', description: 'replay of 10,000 retained topics to a new # subscriber', run: retainedReplay },
];

function load(name: string, description: string, spec: LoadSpec): Scenario {
  return { name, description, run: (ctx) => runLoad(name, spec, ctx) };
}

async function runLoad(name: string, spec: LoadSpec, ctx: ScenarioContext): Promise<ScenarioResult> {
  const { broker } = ctx;
  const topic = `bench/${name}`;
  const topicBuffer = Buffer.from(topic);
  const P = spec.publishers;
  const S = spec.subscribers;

  const subscribers: BenchClient[] = [];
  for (let i = 0; i < S; i++) {
    const clean = spec.qos === 0 || ctx.cleanSubscribers;
    const sub = await connectClient(ctx.client, broker.port, { clientId: `${name}-sub-${i}`, clean });
    await sub.subscribe(topic, spec.qos);
    subscribers.push(sub);
  }
  const publishers: BenchClient[] = [];
  for (let p = 0; p < P; p++) publishers.push(await connectClient(ctx.client, broker.port, { clientId: `${name}-pub-${p}`, clean: true }));

  const sent = new Array<number>(P).fill(0);
  const delivered = new Array<number>(P).fill(0);
  // sequence numbers seen, per subscriber and publisher: repeats are duplicates, lower than the last one reordered
  const seen = subscribers.map(() => Array.from({ length: P }, () => new SeqSet()));
  let duplicates = 0;
  let reordered = 0;
  let measuring = false;
  let measureStartUs = Infinity;
  let measureEndUs = Infinity;
  let measuredDeliveries = 0;
  const latencies = new LatencyRecorder();
  const decoded: Decoded = { publisher: 0, seq: 0, sentMicros: 0 };
  const pumpScheduled = new Array<boolean>(P).fill(false);
  let stopped = false;

  const schedulePump = (p: number) => {
    if (spec.rate !== undefined || pumpScheduled[p] || stopped) return;
    pumpScheduled[p] = true;
    setImmediate(() => {
      pumpScheduled[p] = false;
      pump(p);
    });
  };

  subscribers.forEach((sub, s) => {
    const mine = seen[s]!;
    sub.onMessage = (_topic, payload) => {
      if (!decodePayload(payload, decoded)) return;
      const p = decoded.publisher;
      const order = mine[p]!.add(decoded.seq);
      if (order === 'duplicate') {
        duplicates++;
        return;
      }
      if (order === 'reordered') reordered++;
      delivered[p]!++;
      const now = nowMicros();
      if (measuring && decoded.sentMicros >= measureStartUs && now <= measureEndUs) {
        measuredDeliveries++;
        latencies.add((now - decoded.sentMicros) / 1000);
      }
      schedulePump(p);
    };
  });

  const publishOne = (p: number, now: number) => {
    publishers[p]!.publish(topicBuffer, encodePayload(p, sent[p]!, now), spec.qos);
    sent[p]!++;
  };

  // Full rate: keep `window` messages per publisher on their way, refilled as deliveries come in.
  const pump = (p: number) => {
    if (stopped) return;
    const pub = publishers[p]!;
    const outstanding = sent[p]! - Math.floor(delivered[p]! / S);
    const window = WINDOW ?? spec.window;
    let n = window - outstanding;
    if (spec.qos === 1) n = Math.min(n, window - pub.inflight);
    if (pub.writableLength > 1 << 20) n = 0;
    const now = nowMicros();
    for (let i = 0; i < n; i++) publishOne(p, now);
  };
  publishers.forEach((pub, p) => {
    pub.onAck = () => schedulePump(p);
  });

  let ticker: NodeJS.Timeout | undefined;
  const startMs = performance.now();
  if (spec.rate === undefined) {
    for (let p = 0; p < P; p++) pump(p);
  } else {
    // Fixed rate: each publisher at rate/P, paced on a 1 ms timer, their phases spread evenly over a period. In step,
    // the ten fan-in publishers would all send in the same tick every 5 ms: bursts of ten, not one message per 0.5 ms.
    const perPublisher = spec.rate / P;
    ticker = setInterval(() => {
      const elapsed = performance.now() - startMs;
      const now = nowMicros();
      for (let p = 0; p < P; p++) {
        const due = Math.min(Math.floor((elapsed * perPublisher) / 1000 + p / P) - sent[p]!, 1000);
        for (let i = 0; i < due; i++) publishOne(p, now);
      }
    }, 1);
  }

  await sleep(ctx.warmupSeconds * 1000);
  await ctx.onWindow?.('start', broker);
  const machine0 = await machineCpuSeconds();
  const cpu0 = await broker.cpuSeconds();
  const loadgen0 = process.cpuUsage();
  measureStartUs = nowMicros();
  measuring = true;
  await sleep(ctx.durationSeconds * 1000);
  measureEndUs = nowMicros();
  const cpu1 = await broker.cpuSeconds();
  const loadgen = process.cpuUsage(loadgen0);
  const machine1 = await machineCpuSeconds();
  const rss = await broker.rssKiB();
  await ctx.onWindow?.('end', broker);
  const measuredSeconds = (measureEndUs - measureStartUs) / 1e6;

  // Stop publishing and let everything in flight arrive before counting losses.
  stopped = true;
  if (ticker) clearInterval(ticker);
  const expected = () => sent.reduce((a, b) => a + b, 0) * S;
  const got = () => delivered.reduce((a, b) => a + b, 0);
  // Generous: on a VM whose CPU is being stolen a backlog can take seconds to move, and a message that arrives late
  // is not lost.
  const deadline = Date.now() + 60_000;
  let last = -1;
  let stallSince = Date.now();
  while (got() < expected() && Date.now() < deadline) {
    await sleep(50);
    if (got() !== last) {
      last = got();
      stallSince = Date.now();
    } else if (Date.now() - stallSince > 10_000) break;
  }
  const result: ScenarioResult = {
    msgsPerSec: measuredDeliveries / measuredSeconds,
    p50Ms: latencies.percentile(50),
    p99Ms: latencies.percentile(99),
    sent: sent.reduce((a, b) => a + b, 0),
    lost: expected() - got(),
    duplicates,
    reordered,
    cpuUsPerMsg: measuredDeliveries > 0 ? ((cpu1 - cpu0) * 1e6) / measuredDeliveries : undefined,
    brokerCpuPct: ((cpu1 - cpu0) / measuredSeconds) * 100,
    loadgenCpuPct: ((loadgen.user + loadgen.system) / 1e6 / measuredSeconds) * 100,
    otherCpuPct: ((machine1.busy - machine0.busy - (cpu1 - cpu0) - (loadgen.user + loadgen.system) / 1e6) / measuredSeconds) * 100,
    stealCpuPct: ((machine1.steal - machine0.steal) / measuredSeconds) * 100,
    rssKiB: rss,
  };
  await Promise.all([...publishers, ...subscribers].map((c) => c.close()));
  return result;
}

const IDLE_CONNECTIONS = 2000;

async function idleConnections(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { broker } = ctx;
  // One connection and back, so that lazily loaded code is not counted per connection.
  const warm = await connectClient('wire', broker.port, { clientId: 'idle-warmup', clean: true });
  await warm.close();
  await sleep(1000);
  const before = await broker.rssKiB();
  const clients: BenchClient[] = [];
  for (let i = 0; i < IDLE_CONNECTIONS; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, IDLE_CONNECTIONS - i) }, (_, j) =>
        connectClient('wire', broker.port, { clientId: `idle-${i + j}`, clean: true }),
      ),
    );
    clients.push(...batch);
  }
  await sleep(3000);
  const after = await broker.rssKiB();
  await ctx.onIdle?.(broker);
  for (let i = 0; i < clients.length; i += 200) await Promise.all(clients.slice(i, i + 200).map((c) => c.close()));
  return { rssKiB: after, kibPerConnection: (after - before) / IDLE_CONNECTIONS };
}

const RETAINED_TOPICS = 10_000;

async function retainedReplay(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { broker } = ctx;
  const pub = await connectClient(ctx.client, broker.port, { clientId: 'retained-pub', clean: true });
  const payload = encodePayload(0, 0, 0);
  let sent = 0;
  await new Promise<void>((resolve) => {
    const fill = () => {
      while (sent < RETAINED_TOPICS && pub.inflight < 500) pub.publish(Buffer.from(`bench/retained/${sent++}`), payload, 1, true);
      if (sent === RETAINED_TOPICS && pub.inflight === 0) resolve();
    };
    pub.onAck = fill;
    fill();
  });
  await pub.close();
  // QoS 1: the PUBACK may leave before the retained message is stored; give the store a moment.
  await sleep(1000);

  const sub = await connectClient(ctx.client, broker.port, { clientId: 'retained-sub', clean: true });
  let replayed = 0;
  let doneAt = 0;
  const cpu0 = await broker.cpuSeconds();
  const t0 = performance.now();
  const done = new Promise<void>((resolve) => {
    sub.onMessage = (topic, _payload, retain) => {
      if (!retain || !topic.startsWith('bench/retained/')) return;
      if (++replayed === RETAINED_TOPICS) {
        doneAt = performance.now();
        resolve();
      }
    };
  });
  await sub.subscribe('#', 0);
  await Promise.race([done, sleep(30_000)]);
  const cpu1 = await broker.cpuSeconds();
  const rss = await broker.rssKiB();
  await sub.close();
  return {
    replayMs: doneAt ? doneAt - t0 : undefined,
    replayed,
    lost: RETAINED_TOPICS - replayed,
    cpuUsPerMsg: replayed ? ((cpu1 - cpu0) * 1e6) / replayed : undefined,
    rssKiB: rss,
  };
}
