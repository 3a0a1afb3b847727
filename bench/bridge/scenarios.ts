/**
 * The bridge bench's scenarios. Each run starts its own cloud mosquitto and its own gateway-side process(es), and
 * leaves nothing behind (run.ts calls cleanupAll after each run).
 */
import { machineCpuSeconds } from '../broker/brokers.js';
import { nowMicros } from '../broker/payload.js';
import { LatencyRecorder } from '../broker/stats.js';
import {
  closeFlows,
  CloudSubscriber,
  Flow,
  runPaced,
  runWindowed,
  sampleRss,
  totals,
  waitForAcks,
  waitForDelivery,
  waitUntilBridged,
} from './load.js';
import { register, sleep, startCloud, startGateway, type Cloud, type Durability, type Gateway, type Side } from './processes.js';

export interface BenchOptions {
  /** Measured seconds of throughput and latency-500; outage and fleet run duration/2 s before and after the outage. */
  durationSeconds: number;
  warmupSeconds: number;
  outageSeconds: number;
  backlog: number;
  fleet: number;
  durability: Durability;
  /** Our bridge's queue.drain. */
  drain: 'in_order' | 'live_first';
  restartTimeout: number;
  mosquittoMaxQueued?: number;
}

export type Metrics = Record<string, number | undefined>;

export interface RunResult {
  metrics: Metrics;
  /** Lines printed under the table (per-gateway detail, what the cloud saw). */
  notes: string[];
  /** The gateway-side command line. */
  command?: string;
}

export interface MetricSpec {
  key: string;
  label: string;
  digits: number;
  /** Print ours/mosquitto for it. */
  ratio?: boolean;
}

export interface Scenario {
  name: string;
  sides: readonly Side[];
  metrics: MetricSpec[];
  run(side: Side, options: BenchOptions): Promise<RunResult>;
}

interface Rig {
  cloud: Cloud;
  gateways: Gateway[];
  subscriber: CloudSubscriber;
  flows: Map<number, Flow>;
}

/** A fresh cloud, `count` gateway-side processes bridged to it, and the cloud subscriber; waits until each bridges. */
async function rig(side: Side, options: BenchOptions, count = 1, extraFilters: string[] = []): Promise<Rig> {
  const cloud = await startCloud();
  const flows = new Map<number, Flow>();
  const subscriber = await CloudSubscriber.connect(cloud.port, 'bench-cloud-subscriber', flows, extraFilters);
  const gateways = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startGateway(side, {
        cloudPort: cloud.port,
        remoteClientId: `bench-${side === 'ours' ? 'gw' : 'mosq'}-${String(i).padStart(2, '0')}`,
        restartTimeout: options.restartTimeout,
        durability: options.durability,
        drain: options.drain,
        mosquittoMaxQueued: options.mosquittoMaxQueued,
      }),
    ),
  );
  await Promise.all(gateways.map((gateway, i) => waitUntilBridged(gateway.port, subscriber, `g${i}`)));
  return { cloud, gateways, subscriber, flows };
}

async function connectFlows(rigged: Rig, ids: number[], gatewayOf: (id: number) => Gateway = () => rigged.gateways[0]!): Promise<Flow[]> {
  const flows = await Promise.all(ids.map((id) => Flow.connect(id, gatewayOf(id).port)));
  for (const flow of flows) rigged.flows.set(flow.id, flow);
  register(() => closeFlows(flows));
  return flows;
}

/** CPU of the gateway process, of this process and of the machine over a window. */
async function cpuWindow(gateway: Gateway): Promise<() => Promise<{ seconds: number; gatewayPct: number; gatewayCpu: number; benchPct: number; machinePct: number; stealPct: number }>> {
  const t0 = performance.now();
  const g0 = await gateway.cpuSeconds();
  const b0 = process.cpuUsage();
  const m0 = await machineCpuSeconds();
  return async () => {
    const seconds = (performance.now() - t0) / 1000;
    const gatewayCpu = (await gateway.cpuSeconds()) - g0;
    const b = process.cpuUsage(b0);
    const m1 = await machineCpuSeconds();
    return {
      seconds,
      gatewayCpu,
      gatewayPct: (gatewayCpu / seconds) * 100,
      benchPct: ((b.user + b.system) / 1e6 / seconds) * 100,
      machinePct: ((m1.busy - m0.busy) / seconds) * 100,
      stealPct: ((m1.steal - m0.steal) / seconds) * 100,
    };
  };
}

const LOSS_METRICS: MetricSpec[] = [
  { key: 'sent', label: 'sent', digits: 0 },
  { key: 'lost', label: 'lost (PUBACKed, never received)', digits: 0 },
  { key: 'unacked', label: 'never PUBACKed locally', digits: 0 },
  { key: 'duplicates', label: 'duplicates', digits: 0 },
  { key: 'reordered', label: 'reordered', digits: 0 },
];

const NOISE_METRICS: MetricSpec[] = [
  { key: 'benchPct', label: 'load generator CPU %', digits: 0 },
  { key: 'machinePct', label: 'whole machine CPU % (of one core)', digits: 0 },
  { key: 'stealPct', label: 'steal CPU %', digits: 0 },
];

const throughput: Scenario = {
  name: 'throughput',
  sides: ['ours', 'mosquitto'],
  metrics: [
    { key: 'delivered', label: 'delivered msg/s (cloud)', digits: 0, ratio: true },
    { key: 'accepted', label: 'accepted msg/s (local PUBACKs)', digits: 0, ratio: true },
    { key: 'gatewayPct', label: 'gateway CPU %', digits: 0, ratio: true },
    { key: 'cpuUsPerMsg', label: 'gateway CPU µs / delivered msg', digits: 1, ratio: true },
    { key: 'rssMiB', label: 'gateway max RSS MiB', digits: 1, ratio: true },
    { key: 'backlogAtStop', label: 'backlog at stop (msgs)', digits: 0 },
    { key: 'drainSeconds', label: 'drain after stop (s)', digits: 1 },
    ...LOSS_METRICS,
    ...NOISE_METRICS,
  ],
  async run(side, options) {
    const r = await rig(side, options);
    const gateway = r.gateways[0]!;
    const flows = await connectFlows(r, [0, 1, 2, 3]);
    const rss = sampleRss(() => gateway.rssKiB());
    const load = runWindowed(flows, 50);
    await sleep(options.warmupSeconds * 1000);
    const received0 = r.subscriber.firstArrivals;
    const acked0 = totals(flows).acked;
    const cpu = await cpuWindow(gateway);
    await sleep(options.durationSeconds * 1000);
    const c = await cpu();
    const delivered = r.subscriber.firstArrivals - received0;
    const accepted = totals(flows).acked - acked0;
    load.stop();
    const stopMicros = nowMicros();
    await waitForAcks(flows, 10_000);
    const backlogAtStop = totals(flows).acked - r.subscriber.firstArrivals;
    await waitForDelivery(flows, 5_000, 90_000);
    rss.stop();
    const t = totals(flows);
    await closeFlows(flows);
    return {
      command: gateway.command,
      notes: [],
      metrics: {
        delivered: delivered / c.seconds,
        accepted: accepted / c.seconds,
        gatewayPct: c.gatewayPct,
        cpuUsPerMsg: delivered > 0 ? (c.gatewayCpu * 1e6) / delivered : undefined,
        rssMiB: rss.max() / 1024,
        backlogAtStop,
        drainSeconds: Math.max(0, (r.subscriber.lastArrivalMicros - stopMicros) / 1e6),
        ...t,
        benchPct: c.benchPct,
        machinePct: c.machinePct,
        stealPct: c.stealPct,
      },
    };
  },
};

const latency500: Scenario = {
  name: 'latency-500',
  sides: ['ours', 'mosquitto'],
  metrics: [
    { key: 'p50', label: 'p50 ms (local publish → cloud)', digits: 2, ratio: true },
    { key: 'p99', label: 'p99 ms', digits: 2, ratio: true },
    { key: 'max', label: 'max ms', digits: 2, ratio: true },
    { key: 'rate', label: 'delivered msg/s', digits: 0 },
    { key: 'gatewayPct', label: 'gateway CPU %', digits: 0, ratio: true },
    { key: 'rssMiB', label: 'gateway max RSS MiB', digits: 1, ratio: true },
    ...LOSS_METRICS,
    ...NOISE_METRICS,
  ],
  async run(side, options) {
    const r = await rig(side, options);
    const gateway = r.gateways[0]!;
    // 5 publishers of 100 msg/s each, taking turns.
    const flows = await connectFlows(r, [0, 1, 2, 3, 4]);
    const rss = sampleRss(() => gateway.rssKiB());
    const start = nowMicros();
    r.subscriber.recordFrom = start + options.warmupSeconds * 1e6;
    r.subscriber.recordUntil = r.subscriber.recordFrom + options.durationSeconds * 1e6;
    const received0 = { n: 0 };
    let cpu: Awaited<ReturnType<typeof cpuWindow>> | undefined;
    const warm = sleep(options.warmupSeconds * 1000).then(async () => {
      received0.n = r.subscriber.firstArrivals;
      cpu = await cpuWindow(gateway);
    });
    await runPaced(flows, 500, (options.warmupSeconds + options.durationSeconds) * 1000);
    await warm;
    const c = await cpu!();
    const delivered = r.subscriber.firstArrivals - received0.n;
    await waitForAcks(flows, 10_000);
    await waitForDelivery(flows, 5_000, 30_000);
    rss.stop();
    await closeFlows(flows);
    return {
      command: gateway.command,
      notes: [],
      metrics: {
        p50: r.subscriber.latency.percentile(50),
        p99: r.subscriber.latency.percentile(99),
        max: r.subscriber.maxLatencyMs,
        rate: delivered / c.seconds,
        gatewayPct: c.gatewayPct,
        rssMiB: rss.max() / 1024,
        ...totals(flows),
        benchPct: c.benchPct,
        machinePct: c.machinePct,
        stealPct: c.stealPct,
      },
    };
  },
};

/**
 * Stops the cloud `beforeMs` from now (SIGTERM: mosquitto saves its sessions) and starts it again on the same port
 * `outageMs` later, while `load` runs; `marks` is filled as it happens (µs), for the arrival hooks.
 */
async function outageDuring(
  cloud: Cloud,
  beforeMs: number,
  outageMs: number,
  load: Promise<void>,
  marks: { stop: number; restart: number },
  onMark: (what: 'stop' | 'restart') => void = () => {},
): Promise<void> {
  try {
    await sleep(beforeMs);
    marks.stop = nowMicros();
    onMark('stop');
    await cloud.stop();
    await sleep(outageMs);
    await cloud.start();
    marks.restart = nowMicros();
    onMark('restart');
  } finally {
    await load;
  }
}

const outage: Scenario = {
  name: 'outage',
  sides: ['ours', 'mosquitto'],
  metrics: [
    ...LOSS_METRICS,
    { key: 'sentDuringOutage', label: 'sent while the cloud was down', digits: 0 },
    { key: 'firstAfterRestart', label: 'first message on the cloud after restart (s)', digits: 1 },
    { key: 'liveAgain', label: 'backlog drained: first message sent after restart arrives (s)', digits: 1, ratio: true },
    { key: 'maxLatency', label: 'max latency (s)', digits: 1 },
    { key: 'rssMiB', label: 'gateway max RSS MiB', digits: 1, ratio: true },
  ],
  async run(side, options) {
    const r = await rig(side, options);
    const gateway = r.gateways[0]!;
    const flows = await connectFlows(r, [0, 1]);
    const rss = sampleRss(() => gateway.rssKiB());
    const half = (options.durationSeconds / 2) * 1000;
    const outageMs = options.outageSeconds * 1000;
    const marks = { stop: Infinity, restart: Infinity };
    let firstAfterRestart: number | undefined;
    let liveAgain: number | undefined;
    r.subscriber.recordFrom = 0;
    r.subscriber.onArrival = (a) => {
      if (a.arrivedMicros >= marks.restart && firstAfterRestart === undefined) firstAfterRestart = a.arrivedMicros;
      if (a.sentMicros >= marks.restart && liveAgain === undefined) liveAgain = a.arrivedMicros;
    };
    const sentAt = { stop: 0, restart: 0 };
    const load = runPaced(flows, 200, half * 2 + outageMs);
    await outageDuring(r.cloud, half, outageMs, load, marks, (what) => (sentAt[what] = totals(flows).sent));
    await waitForAcks(flows, 10_000);
    await waitForDelivery(flows, 8_000, 90_000);
    rss.stop();
    await closeFlows(flows);
    const seconds = (at: number | undefined) => (at === undefined ? undefined : (at - marks.restart) / 1e6);
    return {
      command: gateway.command,
      notes: [],
      metrics: {
        ...totals(flows),
        sentDuringOutage: sentAt.restart - sentAt.stop,
        firstAfterRestart: seconds(firstAfterRestart),
        liveAgain: seconds(liveAgain),
        maxLatency: r.subscriber.maxLatencyMs / 1000,
        rssMiB: rss.max() / 1024,
      },
    };
  },
};

/** The live stream's publisher id in backlog (the backlog's publishers are 0-3). */
const LIVE = 99;

const backlog: Scenario = {
  name: 'backlog',
  sides: ['ours', 'mosquitto'],
  metrics: [
    { key: 'backlogSent', label: 'backlog published while the cloud was down', digits: 0 },
    { key: 'acceptRate', label: 'backlog accepted locally, msg/s', digits: 0, ratio: true },
    { key: 'backlogLost', label: 'backlog lost', digits: 0 },
    { key: 'reconnectSeconds', label: 'first backlog message on the cloud, s after its restart', digits: 1 },
    { key: 'drainSeconds', label: 'backlog drained, s after that first message', digits: 1, ratio: true },
    { key: 'drainRate', label: 'drain msg/s', digits: 0, ratio: true },
    { key: 'liveP50', label: 'live 20 msg/s sent during the drain: p50 ms', digits: 0, ratio: true },
    { key: 'liveP99', label: 'live p99 ms', digits: 0, ratio: true },
    { key: 'liveMax', label: 'live max ms', digits: 0, ratio: true },
    { key: 'liveCount', label: 'live messages sent during the drain', digits: 0 },
    { key: 'liveLost', label: 'live lost (whole run)', digits: 0 },
    { key: 'rssBeforeMiB', label: 'gateway RSS before the backlog MiB', digits: 1 },
    { key: 'rssPublishMiB', label: 'gateway max RSS while publishing MiB', digits: 1, ratio: true },
    { key: 'rssDrainMiB', label: 'gateway max RSS during the drain MiB', digits: 1, ratio: true },
    { key: 'duplicates', label: 'duplicates', digits: 0 },
    { key: 'reordered', label: 'reordered', digits: 0 },
  ],
  async run(side, options) {
    const r = await rig(side, options);
    const gateway = r.gateways[0]!;
    const flows = await connectFlows(r, [0, 1, 2, 3]);
    const [live] = await connectFlows(r, [LIVE]);
    const rssBefore = await gateway.rssKiB();
    await r.cloud.stop();
    const rssPublish = sampleRss(() => gateway.rssKiB());
    const publishStart = performance.now();
    runWindowed(flows, 50, options.backlog);
    const publishDeadline = Date.now() + 300_000;
    while (totals(flows).acked < options.backlog && Date.now() < publishDeadline) await sleep(50);
    const acceptSeconds = (performance.now() - publishStart) / 1000;
    rssPublish.stop();
    await waitForAcks(flows, 10_000);
    const backlogAcked = totals(flows).acked;

    // The live stream starts a moment before the cloud comes back; its latency counts for what it sends from the
    // restart until the backlog is drained.
    let stopLive = false;
    const liveLoad = runPaced([live!], 20, 600_000, () => stopLive);
    await sleep(500);
    const rssDrain = sampleRss(() => gateway.rssKiB());
    // connected: the first backlog message arrives after the restart (the bridge reconnected; restart_timeout decides
    // when); drained: the last one does.
    const marks = { restart: Infinity, connected: Infinity, drained: Infinity };
    const liveSentAt = { connected: 0, drained: 0, lastBacklog: 0 };
    const liveLatency = new LatencyRecorder(1 << 16);
    let liveMax = 0;
    let liveSamples = 0;
    let backlogReceived = 0;
    let lastBacklogArrival = 0;
    r.subscriber.onArrival = (a) => {
      if (a.flow === live) {
        // Live messages sent while the backlog drains: they wait behind it if the bridge sends in queue order.
        if (a.sentMicros < marks.connected || a.sentMicros > marks.drained) return;
        const ms = (a.arrivedMicros - a.sentMicros) / 1000;
        liveLatency.add(ms);
        liveMax = Math.max(liveMax, ms);
        liveSamples++;
        return;
      }
      if (marks.connected === Infinity) {
        marks.connected = a.arrivedMicros;
        liveSentAt.connected = live!.sent;
      }
      backlogReceived++;
      lastBacklogArrival = a.arrivedMicros;
      liveSentAt.lastBacklog = live!.sent;
      if (backlogReceived === backlogAcked) {
        marks.drained = a.arrivedMicros;
        liveSentAt.drained = live!.sent;
      }
    };
    await r.cloud.start();
    marks.restart = nowMicros();
    await waitForDelivery(flows, 10_000, 300_000);
    if (marks.drained === Infinity) {
      // Some of the backlog was lost: it drained when the last of it arrived.
      marks.drained = lastBacklogArrival;
      liveSentAt.drained = liveSentAt.lastBacklog;
    }
    await sleep(2000);
    stopLive = true;
    await liveLoad;
    rssDrain.stop();
    await waitForAcks([live!], 10_000);
    await waitForDelivery([live!], 5_000, 30_000);
    await closeFlows([...flows, live!]);
    const t = totals(flows);
    const drainSeconds = (marks.drained - marks.connected) / 1e6;
    return {
      command: gateway.command,
      notes: [],
      metrics: {
        backlogSent: t.sent,
        acceptRate: backlogAcked / acceptSeconds,
        backlogLost: t.lost,
        reconnectSeconds: (marks.connected - marks.restart) / 1e6,
        drainSeconds,
        drainRate: drainSeconds > 0 ? t.received / drainSeconds : undefined,
        liveP50: liveLatency.percentile(50),
        liveP99: liveLatency.percentile(99),
        liveMax: liveSamples > 0 ? liveMax : undefined,
        liveCount: liveSentAt.drained - liveSentAt.connected,
        liveLost: live!.lost,
        rssBeforeMiB: rssBefore / 1024,
        rssPublishMiB: rssPublish.max() / 1024,
        rssDrainMiB: rssDrain.max() / 1024,
        duplicates: t.duplicates + live!.duplicates,
        reordered: t.reordered + live!.reordered,
      },
    };
  },
};

const fleet: Scenario = {
  name: 'fleet',
  sides: ['ours'],
  metrics: [
    { key: 'gateways', label: 'gateways (ours), 20 msg/s each', digits: 0 },
    ...LOSS_METRICS,
    { key: 'lostGateways', label: 'gateways that lost messages', digits: 0 },
    { key: 'allOnline', label: 'all bridges online again, s after restart (cloud view)', digits: 1 },
    { key: 'drainedMax', label: 'every backlog drained, s after restart (slowest gateway)', digits: 1 },
    { key: 'drainedMedian', label: 'backlog drained, median gateway (s)', digits: 1 },
    { key: 'rssMiB', label: 'max RSS of one gateway MiB', digits: 1 },
  ],
  async run(side, options) {
    const stateFilter = '$SYS/broker/connection/+/state';
    const r = await rig(side, options, options.fleet, [stateFilter]);
    const t0 = nowMicros();
    const events: { at: number; client: string; payload: string; retain: boolean }[] = [];
    r.subscriber.onOther = (topic, payload, retain) => {
      const match = /^\$SYS\/broker\/connection\/([^/]+)\/state$/.exec(topic);
      if (match) events.push({ at: nowMicros(), client: match[1]!, payload: payload.toString(), retain });
    };
    const ids = r.gateways.map((_, i) => i);
    const flows = await connectFlows(r, ids, (id) => r.gateways[id]!);
    const samplers = r.gateways.map((g) => sampleRss(() => g.rssKiB(), 1000));
    const half = (options.durationSeconds / 2) * 1000;
    const outageMs = options.outageSeconds * 1000;
    const marks = { stop: Infinity, restart: Infinity };
    const liveAgain = new Map<number, number>();
    r.subscriber.recordFrom = 0;
    r.subscriber.onArrival = (a) => {
      if (a.sentMicros >= marks.restart && !liveAgain.has(a.flow.id)) liveAgain.set(a.flow.id, a.arrivedMicros);
    };
    const load = Promise.all(flows.map((flow) => runPaced([flow], 20, half * 2 + outageMs))).then(() => undefined);
    await outageDuring(r.cloud, half, outageMs, load, marks);
    await waitForAcks(flows, 10_000);
    await waitForDelivery(flows, 8_000, 90_000);
    for (const s of samplers) s.stop();
    await closeFlows(flows);

    // The end of the run, as the cloud sees it: gateway 0 killed (its will), the others stopped cleanly.
    const endMicros = nowMicros();
    await r.gateways[0]!.stop('SIGKILL');
    await Promise.all(r.gateways.slice(1).map((g) => g.stop('SIGTERM')));
    await sleep(1500);

    const after = (at: number) => (at - marks.restart) / 1e6;
    const drained = ids.map((id) => liveAgain.get(id)).map((at) => (at === undefined ? undefined : after(at)));
    const known = drained.filter((d): d is number => d !== undefined).sort((a, b) => a - b);
    const notes: string[] = [];
    const phase = (at: number) => (at < marks.stop ? 'before' : at < marks.restart ? 'during' : at < endMicros ? 'after restart' : 'at the end');
    let allOnline: number | undefined = 0;
    for (const [i, gateway] of r.gateways.entries()) {
      const seen = events.filter((e) => e.client === gateway.remoteClientId);
      const text = seen.map((e) => `${phase(e.at)} +${((e.at - t0) / 1e6).toFixed(1)}s ${e.payload}${e.retain ? ' (retained)' : ''}`).join('; ');
      const online = seen.find((e) => e.at >= marks.restart && e.payload === 'online');
      if (online === undefined) allOnline = undefined;
      else if (allOnline !== undefined) allOnline = Math.max(allOnline, after(online.at));
      const flow = flows[i]!;
      notes.push(
        `${gateway.remoteClientId}${i === 0 ? ' (SIGKILL at the end)' : ''}: lost ${flow.lost}, dup ${flow.duplicates}, drained ${drained[i]?.toFixed(1) ?? '?'} s; cloud saw: ${text || 'nothing'}`,
      );
    }
    if (events.length === 0) notes.push(`the cloud's subscriber to ${stateFilter} saw nothing: the bridges' state publishes were refused or not made`);
    const t = totals(flows);
    return {
      command: r.gateways[0]!.command,
      notes,
      metrics: {
        gateways: r.gateways.length,
        ...t,
        lostGateways: flows.filter((f) => f.lost > 0).length,
        allOnline,
        drainedMax: known.length === ids.length ? known.at(-1) : undefined,
        drainedMedian: known[known.length >> 1],
        rssMiB: Math.max(...samplers.map((s) => s.max())) / 1024,
      },
    };
  },
};

export const SCENARIOS: Scenario[] = [throughput, latency500, outage, backlog, fleet];
