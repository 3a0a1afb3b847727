/**
 * The load of the bridge bench: QoS 1 publishers on the gateway side (bench/broker's raw wire client), one cloud
 * subscriber with a persistent session (MQTT.js: it reconnects by itself through a cloud outage, and its message
 * listener is there before CONNACK, when mosquitto sends what it kept for the session), and the bookkeeping of what
 * was sent, acknowledged by the gateway side, and received on the cloud.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { WireClient } from '../broker/wire-client.js';
import { decodePayload, encodePayload, nowMicros, type Decoded } from '../broker/payload.js';
import { LatencyRecorder, SeqSet } from '../broker/stats.js';
import { register, sleep } from './processes.js';

/** One publisher's stream: sequence numbers 0, 1, 2… on `bench/p<id>`. */
export class Flow {
  readonly topic: Buffer;
  sent = 0;
  /** PUBACKs from the gateway side (in order: both brokers acknowledge a connection's QoS 1 messages in order). */
  acked = 0;
  /** Distinct sequence numbers received on the cloud. */
  received = 0;
  readonly seen = new SeqSet();
  duplicates = 0;
  reordered = 0;
  /** Called after each PUBACK (the windowed publisher sends its next message from here). */
  onAck: () => void = () => {};

  private constructor(
    readonly id: number,
    readonly client: WireClient,
  ) {
    this.topic = Buffer.from(`bench/p${String(id).padStart(2, '0')}`);
    client.onAck = () => {
      this.acked++;
      this.onAck();
    };
  }

  static async connect(id: number, port: number): Promise<Flow> {
    const client = await WireClient.connect(port, { clientId: `bench-pub-${id}`, clean: true });
    return new Flow(id, client);
  }

  /** Publishes the next sequence number, stamped with the send time; returns the send time (µs). */
  publish(): number {
    const sentMicros = nowMicros();
    this.client.publish(this.topic, encodePayload(this.id, this.sent++, sentMicros), 1);
    return sentMicros;
  }

  get inflight(): number {
    return this.sent - this.acked;
  }

  /** Acknowledged by the gateway side and never received: the bench waits for in-flight messages first. */
  get lost(): number {
    return Math.max(0, this.acked - this.received);
  }
}

/** What the cloud subscriber saw of one message the first time it arrived. */
export interface Arrival {
  flow: Flow;
  seq: number;
  sentMicros: number;
  arrivedMicros: number;
}

/**
 * The cloud subscriber: `bench/#` at QoS 1 with a persistent session, so that what arrives at the cloud while it is
 * away (its own reconnect after the cloud restarts) waits for it there.
 */
export class CloudSubscriber {
  readonly latency = new LatencyRecorder(1 << 20);
  maxLatencyMs = 0;
  /** Latency is recorded for messages sent from this time (µs, performance clock) on: the warm-up is left out. */
  recordFrom = Infinity;
  recordUntil = Infinity;
  firstArrivals = 0;
  lastArrivalMicros = 0;
  /** Also called on each first arrival (scenario-specific bookkeeping). */
  onArrival: (arrival: Arrival) => void = () => {};
  /** Payloads of other topics (readiness probes, $SYS states). */
  onOther: (topic: string, payload: Buffer, retain: boolean) => void = () => {};
  private readonly decoded: Decoded = { publisher: 0, seq: 0, sentMicros: 0 };

  private constructor(
    private readonly client: MqttClient,
    private readonly flows: Map<number, Flow>,
  ) {
    client.on('message', (topic, payload, packet) => this.message(topic, payload, packet.retain));
  }

  static async connect(port: number, clientId: string, flows: Map<number, Flow>, extraFilters: string[] = []): Promise<CloudSubscriber> {
    const client = mqtt.connect({ host: '127.0.0.1', port, clientId, clean: false, protocolVersion: 4, reconnectPeriod: 250, connectTimeout: 5000, keepalive: 30 });
    // The listener is attached here, before CONNACK: what the cloud kept for the session is sent right after it.
    const subscriber = new CloudSubscriber(client, flows);
    register(() => subscriber.close());
    client.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('cloud subscriber: no CONNACK in 10 s')), 10_000);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await client.subscribeAsync(Object.fromEntries(['bench/#', ...extraFilters].map((filter) => [filter, { qos: 1 as const }])));
    return subscriber;
  }

  private message(topic: string, payload: Buffer, retain: boolean): void {
    if (!decodePayload(payload, this.decoded)) {
      this.onOther(topic, payload, retain);
      return;
    }
    const { publisher, seq, sentMicros } = this.decoded;
    const flow = this.flows.get(publisher);
    if (!flow) return;
    const outcome = flow.seen.add(seq);
    if (outcome === 'duplicate') {
      flow.duplicates++;
      return;
    }
    if (outcome === 'reordered') flow.reordered++;
    flow.received++;
    this.firstArrivals++;
    const arrivedMicros = nowMicros();
    this.lastArrivalMicros = arrivedMicros;
    if (sentMicros >= this.recordFrom && sentMicros < this.recordUntil) {
      const ms = (arrivedMicros - sentMicros) / 1000;
      this.latency.add(ms);
      if (ms > this.maxLatencyMs) this.maxLatencyMs = ms;
    }
    this.onArrival({ flow, seq, sentMicros, arrivedMicros });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}

/**
 * Sends `bench/ready/<n>` through a gateway until one reaches the cloud subscriber: the bridge is connected and the
 * path works end to end. Throws after `timeoutMs`.
 */
export async function waitUntilBridged(port: number, subscriber: CloudSubscriber, name: string, timeoutMs = 60_000): Promise<void> {
  const probe = await WireClient.connect(port, { clientId: `bench-probe-${name}`, clean: true });
  let arrived = false;
  const previous = subscriber.onOther;
  subscriber.onOther = (topic, payload, retain) => {
    if (topic === `bench/ready/${name}`) arrived = true;
    else previous(topic, payload, retain);
  };
  try {
    const deadline = Date.now() + timeoutMs;
    while (!arrived) {
      if (Date.now() > deadline) throw new Error(`${name}: nothing reached the cloud through the bridge in ${timeoutMs / 1000} s`);
      probe.publish(Buffer.from(`bench/ready/${name}`), Buffer.from('ready'), 1);
      await sleep(250);
    }
  } finally {
    subscriber.onOther = previous;
    await probe.close();
  }
}

/**
 * Each flow keeps `window` messages without a PUBACK until `stop()`, or until the flows have sent `limit` in all:
 * the full-rate load.
 */
export function runWindowed(flows: Flow[], window: number, limit = Infinity): { stop: () => void } {
  let stopped = false;
  let total = 0;
  const send = (flow: Flow) => {
    if (stopped || total >= limit || flow.inflight >= window) return false;
    flow.publish();
    total++;
    return true;
  };
  for (const flow of flows) {
    flow.onAck = () => void send(flow);
    while (send(flow));
  }
  return {
    stop: () => {
      stopped = true;
    },
  };
}

/**
 * Publishes at `rate` msg/s in all, spread over the flows in turn, for `durationMs`: a 1 ms timer sends what is due
 * by the clock (so a late timer catches up instead of lowering the rate). Resolves when done.
 */
export async function runPaced(flows: Flow[], rate: number, durationMs: number, shouldStop: () => boolean = () => false): Promise<void> {
  const start = performance.now();
  let sent = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      const due = Math.floor((Math.min(elapsed, durationMs) * rate) / 1000);
      while (sent < due) {
        flows[next]!.publish();
        next = (next + 1) % flows.length;
        sent++;
      }
      if (elapsed >= durationMs || shouldStop()) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
}

/** Waits until every flow's messages are acknowledged locally (or `timeoutMs`). */
export async function waitForAcks(flows: Flow[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (flows.some((f) => f.inflight > 0) && Date.now() < deadline) await sleep(50);
}

/**
 * Waits until everything the flows had acknowledged has arrived on the cloud, or nothing new of theirs arrived for
 * `idleMs` (what is left is lost), or `timeoutMs`.
 */
export async function waitForDelivery(flows: Flow[], idleMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastCount = -1;
  let lastChange = Date.now();
  while (Date.now() < deadline) {
    if (flows.every((f) => f.received >= f.acked)) return;
    const count = totals(flows).received;
    if (count !== lastCount) {
      lastCount = count;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > idleMs) return;
    await sleep(50);
  }
}

export interface FlowTotals {
  sent: number;
  acked: number;
  received: number;
  lost: number;
  unacked: number;
  duplicates: number;
  reordered: number;
}

export function totals(flows: Flow[]): FlowTotals {
  const sum = (f: (flow: Flow) => number) => flows.reduce((a, flow) => a + f(flow), 0);
  return {
    sent: sum((f) => f.sent),
    acked: sum((f) => f.acked),
    received: sum((f) => f.received),
    lost: sum((f) => f.lost),
    unacked: sum((f) => f.inflight),
    duplicates: sum((f) => f.duplicates),
    reordered: sum((f) => f.reordered),
  };
}

/** Samples a process's RSS every `everyMs` until stopped: the highest value, in KiB. */
export function sampleRss(read: () => Promise<number>, everyMs = 250): { max: () => number; stop: () => void } {
  let max = 0;
  const timer = setInterval(() => {
    read().then(
      (kib) => {
        if (kib > max) max = kib;
      },
      () => undefined,
    );
  }, everyMs);
  return { max: () => max, stop: () => clearInterval(timer) };
}

export async function closeFlows(flows: Flow[]): Promise<void> {
  await Promise.all(flows.map((f) => f.client.close().catch(() => undefined)));
}
