import type { BrokerProcess } from './brokers.js';
import { connectClient, type BenchClient, type ClientKind } from './client.js';
import { decodePayload, encodePayload, nowMicros, type Decoded } from './payload.js';
import { LatencyRecorder, SeqSet } from './stats.js';

export interface LoadSpec {
  publishers: number;
  subscribers: number;
  qos: 0 | 1;
  /** Messages per second published in total; undefined: as fast as the broker delivers them. */
  rate?: number;
  /** Full rate: messages per publisher published and not yet delivered to every subscriber. */
  window: number;
}

export interface SessionOptions {
  client: ClientKind;
  /** QoS 1 subscribers use clean sessions instead of persistent ones. */
  cleanSubscribers: boolean;
}

// Full-rate window override, for experiments: BENCH_WINDOW=200
const WINDOW = process.env.BENCH_WINDOW ? Number(process.env.BENCH_WINDOW) : undefined;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One scenario's clients on one broker: the publishers, the subscribers, and what they saw. It publishes while
 * running (start/pause; at a fixed rate or as fast as deliveries come back) and counts a delivery in the latency
 * figures when its message was sent inside a measured window (open/close), however late it arrives.
 */
export class LoadSession {
  readonly sent: number[];
  readonly delivered: number[];
  readonly latencies = new LatencyRecorder();
  measuredDeliveries = 0;
  duplicates = 0;
  reordered = 0;
  private readonly topic: Buffer;
  private readonly pumpScheduled: boolean[];
  /** Measured windows of send times, in µs: [start, end) pairs, the open one ending at Infinity. */
  private readonly windows: number[] = [];
  private running = false;
  private ticker: NodeJS.Timeout | undefined;

  private constructor(
    readonly broker: BrokerProcess,
    private readonly spec: LoadSpec,
    topic: string,
    private readonly publishers: BenchClient[],
    private readonly subscribers: BenchClient[],
  ) {
    const P = spec.publishers;
    this.topic = Buffer.from(topic);
    this.sent = new Array<number>(P).fill(0);
    this.delivered = new Array<number>(P).fill(0);
    this.pumpScheduled = new Array<boolean>(P).fill(false);
    this.listen();
  }

  static async open(broker: BrokerProcess, name: string, spec: LoadSpec, options: SessionOptions): Promise<LoadSession> {
    const topic = `bench/${name}`;
    const subscribers: BenchClient[] = [];
    for (let i = 0; i < spec.subscribers; i++) {
      const clean = spec.qos === 0 || options.cleanSubscribers;
      const sub = await connectClient(options.client, broker.port, { clientId: `${name}-sub-${i}`, clean });
      await sub.subscribe(topic, spec.qos);
      subscribers.push(sub);
    }
    const publishers: BenchClient[] = [];
    for (let p = 0; p < spec.publishers; p++) {
      publishers.push(await connectClient(options.client, broker.port, { clientId: `${name}-pub-${p}`, clean: true }));
    }
    return new LoadSession(broker, spec, topic, publishers, subscribers);
  }

  /** Publishes until pause(): at the spec's fixed rate, from now, or keeping its window full. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const spec = this.spec;
    if (spec.rate === undefined) {
      for (let p = 0; p < spec.publishers; p++) this.pump(p);
      return;
    }
    // Each publisher at rate/P, paced on a 1 ms timer, their phases spread evenly over a period. In step, the ten
    // fan-in publishers would all send in the same tick every 5 ms: bursts of ten, not one message per 0.5 ms.
    const P = spec.publishers;
    const perPublisher = spec.rate / P;
    const startMs = performance.now();
    const base = [...this.sent];
    this.ticker = setInterval(() => {
      const elapsed = performance.now() - startMs;
      const now = nowMicros();
      for (let p = 0; p < P; p++) {
        const due = Math.min(Math.floor((elapsed * perPublisher) / 1000 + p / P) - (this.sent[p]! - base[p]!), 1000);
        for (let i = 0; i < due; i++) this.publishOne(p, now);
      }
    }, 1);
  }

  pause(): void {
    this.running = false;
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** Messages sent from now on count in the figures, until close(). */
  openWindow(): void {
    this.windows.push(nowMicros(), Infinity);
  }

  closeWindow(): void {
    this.windows[this.windows.length - 1] = nowMicros();
  }

  expected(): number {
    return this.sent.reduce((a, b) => a + b, 0) * this.spec.subscribers;
  }

  received(): number {
    return this.delivered.reduce((a, b) => a + b, 0);
  }

  /**
   * Waits for everything sent to arrive. Generous: on a VM whose CPU is being stolen a backlog can take seconds to
   * move, and a message that arrives late is not lost. Gives up after 10 s without progress or `timeoutMs` in all.
   */
  async settle(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    let stallSince = Date.now();
    while (this.received() < this.expected() && Date.now() < deadline) {
      await sleep(10);
      if (this.received() !== last) {
        last = this.received();
        stallSince = Date.now();
      } else if (Date.now() - stallSince > 10_000) break;
    }
  }

  async close(): Promise<void> {
    this.pause();
    await Promise.all([...this.publishers, ...this.subscribers].map((c) => c.close()));
  }

  private listen(): void {
    const P = this.spec.publishers;
    const decoded: Decoded = { publisher: 0, seq: 0, sentMicros: 0 };
    // sequence numbers seen, per subscriber and publisher: repeats are duplicates, lower than the last one reordered
    const seen = this.subscribers.map(() => Array.from({ length: P }, () => new SeqSet()));
    this.subscribers.forEach((sub, s) => {
      const mine = seen[s]!;
      sub.onMessage = (_topic, payload) => {
        if (!decodePayload(payload, decoded)) return;
        const p = decoded.publisher;
        const order = mine[p]!.add(decoded.seq);
        if (order === 'duplicate') {
          this.duplicates++;
          return;
        }
        if (order === 'reordered') this.reordered++;
        this.delivered[p]!++;
        if (this.measured(decoded.sentMicros)) {
          this.measuredDeliveries++;
          this.latencies.add((nowMicros() - decoded.sentMicros) / 1000);
        }
        this.schedulePump(p);
      };
    });
    this.publishers.forEach((pub, p) => {
      pub.onAck = () => this.schedulePump(p);
    });
  }

  /** Sent inside a measured window (the latest ones first: that is where nearly every delivery falls). */
  private measured(sentMicros: number): boolean {
    const windows = this.windows;
    for (let i = windows.length - 2; i >= 0; i -= 2) {
      if (sentMicros >= windows[i + 1]!) return false;
      if (sentMicros >= windows[i]!) return true;
    }
    return false;
  }

  private publishOne(p: number, now: number): void {
    this.publishers[p]!.publish(this.topic, encodePayload(p, this.sent[p]!, now), this.spec.qos);
    this.sent[p]!++;
  }

  private schedulePump(p: number): void {
    if (this.spec.rate !== undefined || this.pumpScheduled[p] || !this.running) return;
    this.pumpScheduled[p] = true;
    setImmediate(() => {
      this.pumpScheduled[p] = false;
      this.pump(p);
    });
  }

  /** Full rate: keep `window` messages per publisher on their way, refilled as deliveries come in. */
  private pump(p: number): void {
    if (!this.running) return;
    const spec = this.spec;
    const pub = this.publishers[p]!;
    const outstanding = this.sent[p]! - Math.floor(this.delivered[p]! / spec.subscribers);
    const window = WINDOW ?? spec.window;
    let n = window - outstanding;
    if (spec.qos === 1) n = Math.min(n, window - pub.inflight);
    if (pub.writableLength > 1 << 20) n = 0;
    const now = nowMicros();
    for (let i = 0; i < n; i++) this.publishOne(p, now);
  }
}
