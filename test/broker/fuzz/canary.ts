import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';

/** What a well-behaved client saw while the broker was under attack. */
export interface CanaryReport {
  url: string;
  published: number;
  /** QoS 1 messages it published and got a PUBACK for. */
  acknowledged: number;
  /** Of those, how many came back to its own subscription. */
  received: number;
  /** Acknowledged and never delivered. */
  lost: number;
  /** The longest time without a delivery while it was publishing (from its first publish to its last delivery). */
  maxGapMs: number;
  /** Times the broker dropped it, or a publish failed. */
  errors: number;
}

/**
 * A well-behaved client connected throughout an attack: it publishes a numbered QoS 1 message to its own topic
 * every `intervalMs` and subscribes to it, so that a broker that stops serving good clients while fighting bad
 * ones shows as lost messages, a long gap or a disconnect.
 */
export class Canary {
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly topic = `fuzz-canary/${randomBytes(4).toString('hex')}`;
  private next = 0;
  private readonly acked = new Set<number>();
  private readonly seen = new Set<number>();
  private lastDeliveryAt = 0;
  private maxGapMs = 0;
  private errors = 0;

  constructor(
    private readonly url: string,
    private readonly intervalMs = 50,
  ) {}

  async start(): Promise<void> {
    const client = await mqtt.connectAsync(this.url, { reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 4, clientId: `canary-${randomBytes(4).toString('hex')}` });
    this.client = client;
    client.on('close', () => this.timer && this.errors++);
    client.on('message', (topic, payload) => {
      if (topic !== this.topic) return;
      const seq = Number(payload.toString());
      if (!Number.isInteger(seq) || this.seen.has(seq)) return;
      this.seen.add(seq);
      const now = Date.now();
      this.maxGapMs = Math.max(this.maxGapMs, now - this.lastDeliveryAt);
      this.lastDeliveryAt = now;
    });
    await client.subscribeAsync(this.topic, { qos: 1 });
    this.lastDeliveryAt = Date.now();
    this.timer = setInterval(() => {
      const seq = this.next++;
      client.publish(this.topic, String(seq), { qos: 1 }, (error) => (error ? this.errors++ : this.acked.add(seq)));
    }, this.intervalMs);
  }

  /** Stops publishing, waits up to `graceMs` for what is still on its way, and disconnects. */
  async stop(graceMs = 5000): Promise<CanaryReport> {
    const timer = this.timer;
    this.timer = undefined;
    clearInterval(timer);
    // A broker that stopped delivering altogether shows as a gap up to the end.
    this.maxGapMs = Math.max(this.maxGapMs, Date.now() - this.lastDeliveryAt);
    const deadline = Date.now() + graceMs;
    // Every publish answered (a forced end would fail the last ones in flight) and every acknowledged one delivered.
    while (Date.now() < deadline && (this.acked.size + this.errors < this.next || [...this.acked].some((seq) => !this.seen.has(seq)))) await new Promise((resolve) => setTimeout(resolve, 50));
    await this.client?.endAsync(true).catch(() => undefined);
    const lost = [...this.acked].filter((seq) => !this.seen.has(seq)).length;
    return { url: this.url, published: this.next, acknowledged: this.acked.size, received: this.seen.size, lost, maxGapMs: this.maxGapMs, errors: this.errors };
  }
}
