import { machineCpuSeconds, type BrokerProcess, type MachineCpu } from './brokers.js';
import { connectClient, type BenchClient, type ClientKind } from './client.js';
import { LoadSession, type LoadSpec } from './load-session.js';
import { encodePayload } from './payload.js';

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
  /** Fixed-rate scenarios: all brokers at once, taking turns in short slices (see runInterleaved). */
  interleave?(ctx: InterleaveContext): Promise<ScenarioResult[]>;
}

export interface InterleaveContext extends Omit<ScenarioContext, 'broker' | 'onIdle' | 'onWindow'> {
  brokers: BrokerProcess[];
  /** Seconds of one slice. */
  sliceSeconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
  const scenario: Scenario = { name, description, run: (ctx) => runLoad(name, spec, ctx) };
  if (spec.rate !== undefined) scenario.interleave = (ctx) => runInterleaved(name, spec, ctx);
  return scenario;
}

/** CPU counters of the machine, the broker and this process, to take the difference of over a measured span. */
interface CpuMark {
  machine: MachineCpu;
  broker: number;
  loadgen: NodeJS.CpuUsage;
  atMs: number;
}

async function markCpu(broker: BrokerProcess): Promise<CpuMark> {
  const [machine, cpu] = await Promise.all([machineCpuSeconds(), broker.cpuSeconds()]);
  return { machine, broker: cpu, loadgen: process.cpuUsage(), atMs: performance.now() };
}

/** CPU seconds used between two marks, summed over the spans of a run. */
class CpuSpans {
  seconds = 0;
  broker = 0;
  loadgen = 0;
  machineBusy = 0;
  steal = 0;

  add(from: CpuMark, to: CpuMark): void {
    this.seconds += (to.atMs - from.atMs) / 1000;
    this.broker += to.broker - from.broker;
    this.loadgen += (to.loadgen.user - from.loadgen.user + to.loadgen.system - from.loadgen.system) / 1e6;
    this.machineBusy += to.machine.busy - from.machine.busy;
    this.steal += to.machine.steal - from.machine.steal;
  }
}

function loadResult(session: LoadSession, cpu: CpuSpans, measuredSeconds: number, rssKiB: number): ScenarioResult {
  return {
    msgsPerSec: session.measuredDeliveries / measuredSeconds,
    p50Ms: session.latencies.percentile(50),
    p99Ms: session.latencies.percentile(99),
    sent: session.sent.reduce((a, b) => a + b, 0),
    lost: session.expected() - session.received(),
    duplicates: session.duplicates,
    reordered: session.reordered,
    cpuUsPerMsg: session.measuredDeliveries > 0 ? (cpu.broker * 1e6) / session.measuredDeliveries : undefined,
    brokerCpuPct: (cpu.broker / cpu.seconds) * 100,
    loadgenCpuPct: (cpu.loadgen / cpu.seconds) * 100,
    otherCpuPct: ((cpu.machineBusy - cpu.broker - cpu.loadgen) / cpu.seconds) * 100,
    stealCpuPct: (cpu.steal / cpu.seconds) * 100,
    rssKiB,
  };
}

async function runLoad(name: string, spec: LoadSpec, ctx: ScenarioContext): Promise<ScenarioResult> {
  const { broker } = ctx;
  const session = await LoadSession.open(broker, name, spec, ctx);
  session.start();
  await sleep(ctx.warmupSeconds * 1000);
  await ctx.onWindow?.('start', broker);
  const cpu = new CpuSpans();
  const from = await markCpu(broker);
  session.openWindow();
  await sleep(ctx.durationSeconds * 1000);
  session.closeWindow();
  const to = await markCpu(broker);
  cpu.add(from, to);
  const rss = await broker.rssKiB();
  await ctx.onWindow?.('end', broker);
  // Stop publishing and let everything in flight arrive before counting losses.
  session.pause();
  await session.settle();
  const result = loadResult(session, cpu, cpu.seconds, rss);
  await session.close();
  return result;
}

/**
 * A fixed-rate scenario on every broker in turn, slice by slice: all brokers run, one gets the load for
 * `sliceSeconds`, its messages are let arrive, then the next one's turn (in reverse order every other round). The
 * latency tail of a fixed-rate run is made by stalls of a few ms outside the broker (on this VM, a few per second,
 * at a rate that changes from one minute to the next); brokers measured one after the other, 30 s apart, met
 * different weather and their ratio moved by 2× from run to run. Taking turns every second, they share it.
 * Each broker's load first runs alone for the warm-up. CPU figures cover the slices and the waits after them.
 */
async function runInterleaved(name: string, spec: LoadSpec, ctx: InterleaveContext): Promise<ScenarioResult[]> {
  const sessions: LoadSession[] = [];
  try {
    for (const broker of ctx.brokers) sessions.push(await LoadSession.open(broker, name, spec, ctx));
    for (const session of sessions) {
      session.start();
      await sleep(ctx.warmupSeconds * 1000);
      session.pause();
      await session.settle();
    }
    const cpu = sessions.map(() => new CpuSpans());
    const measured = sessions.map(() => 0);
    const slices = Math.max(1, Math.round(ctx.durationSeconds / ctx.sliceSeconds));
    for (let round = 0; round < slices; round++) {
      const order = round % 2 === 0 ? sessions : [...sessions].reverse();
      for (const session of order) {
        const i = sessions.indexOf(session);
        const from = await markCpu(session.broker);
        const startMs = performance.now();
        session.openWindow();
        session.start();
        await sleep(ctx.sliceSeconds * 1000);
        session.pause();
        session.closeWindow();
        measured[i] = measured[i]! + (performance.now() - startMs) / 1000;
        await session.settle();
        cpu[i]!.add(from, await markCpu(session.broker));
      }
    }
    return await Promise.all(sessions.map(async (session, i) => loadResult(session, cpu[i]!, measured[i]!, await session.broker.rssKiB())));
  } finally {
    await Promise.all(sessions.map((session) => session.close()));
  }
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
